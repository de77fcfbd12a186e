package segment

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func words(s string) (int, error) { return len(strings.Fields(s)), nil }

func TestParagraphsMerge(t *testing.T) {
	text := "First step.\n\nthen lower case continues\n\n\n\nSecond Idea here\n\n$x=1$ formula\n\nÉtape trois"
	got := Paragraphs(text)
	want := []string{"First step.\n\nthen lower case continues\n\n", "Second Idea here\n\n$x=1$ formula", "Étape trois"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Paragraphs = %q, want %q", got, want)
	}
	if strings.Join(got, "\n\n") != text {
		t.Error("paragraphs do not join back to the text")
	}
}

func TestSplitPacksUntilEta(t *testing.T) {
	text := "A one two\n\nB three four five\n\nC six\n\nD seven eight nine ten\n\nE end"
	segs, err := Split(text, 5, words)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A one two\n\nB three four five", "C six\n\nD seven eight nine ten", "E end"}
	if !reflect.DeepEqual(segs, want) {
		t.Errorf("Split = %q, want %q", segs, want)
	}
	if strings.Join(segs, "\n\n") != text {
		t.Error("segments do not join back to the text")
	}
}

func TestSplitDropsLongParagraph(t *testing.T) {
	long := "A" + strings.Repeat(" w", 506)
	if _, err := Split("B short\n\n"+long, 6, words); !errors.Is(err, ErrParagraphTooLong) {
		t.Errorf("err = %v", err)
	}
	ok := "A" + strings.Repeat(" w", 505) // 506 words = η + 500
	if segs, err := Split(ok, 6, words); err != nil || len(segs) != 1 {
		t.Errorf("η+500 paragraph: %v %d", err, len(segs))
	}
	if _, err := Split("x", 0, words); err == nil {
		t.Error("η = 0 accepted")
	}
}
