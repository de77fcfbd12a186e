package themes

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	cases := []struct {
		name          string
		noColor, dark bool
		want          string
	}{
		{"", false, true, "dark"},
		{"auto", false, false, "light"},
		{"AUTO", false, true, "dark"},
		{"light", false, true, "light"},
		{"high-contrast", false, true, "high-contrast"},
		{"plain", false, true, "plain"},
		{"dark", true, true, "plain"}, // NO_COLOR wins over any name
		{"auto", true, true, "plain"},
	}
	for _, c := range cases {
		th, err := Resolve(c.name, c.noColor, c.dark)
		if err != nil || th.Name != c.want {
			t.Errorf("Resolve(%q, noColor=%v, dark=%v) = %q, %v; want %q", c.name, c.noColor, c.dark, th.Name, err, c.want)
		}
	}
	if _, err := Resolve("solarized", false, true); err == nil || !strings.Contains(err.Error(), "high-contrast") {
		t.Fatalf("an unknown theme gives %v, want an error listing the choices", err)
	}
}

// The colored themes color their text; plain uses no color escape at all (NO_COLOR), only
// attributes such as bold.
func TestPlainHasNoColor(t *testing.T) {
	for _, th := range []Theme{Dark(), Light(), HighContrast()} {
		if s := th.Summary.Render("x"); !strings.Contains(s, "38;") && !strings.Contains(s, "\x1b[9") && !strings.Contains(s, "\x1b[3") {
			t.Errorf("%s: summary text is not colored: %q", th.Name, s)
		}
	}
	p := Plain()
	for name, s := range map[string]string{
		"summary": p.Summary.Render("x"), "status": p.StatusBar.Render("x"), "selected": p.PaneSelected.Render("x"),
		"correct": p.Correct.Render("x"), "paused": p.Paused.Render("x"), "dialog": p.Dialog.Render("x"),
	} {
		for _, code := range []string{"38;", "48;", "\x1b[3", "\x1b[4", "\x1b[9", "\x1b[10"} {
			if strings.Contains(s, code) && !strings.Contains(s, "\x1b[3m") && !strings.Contains(s, "\x1b[4m") {
				t.Errorf("plain %s has a color escape %q: %q", name, code, s)
			}
		}
	}
}

func TestNames(t *testing.T) {
	got := strings.Join(Names(), ",")
	if got != "auto,dark,high-contrast,light,plain" {
		t.Fatalf("Names() = %s", got)
	}
}
