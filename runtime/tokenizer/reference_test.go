package tokenizer

import (
	"fmt"
	"slices"
	"testing"
)

func checkRefs(t *testing.T, tok *Tokenizer, cases []refCase) {
	t.Helper()
	bad := 0
	for i, c := range cases {
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.IDs) {
			bad++
			if bad <= 10 {
				t.Errorf("case %d %q:\n got %v\nwant %v", i, c.Text, got, c.IDs)
			}
		}
		if dec := tok.Decode(c.IDs); dec != c.Decoded {
			t.Errorf("case %d: Decode(%v) = %q, want %q", i, c.IDs, dec, c.Decoded)
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d encodings differ", bad, len(cases))
	}
}

func TestQwenReference(t *testing.T) {
	tok := qwen(t)
	cases := readRefs(t, qwenRefs)
	if len(cases) != 100 {
		t.Fatalf("expected the 100 reference cases, read %d", len(cases))
	}
	checkRefs(t, tok, cases)
}

func TestQwenReferenceRegexp2Path(t *testing.T) {
	checkRefs(t, qwenRegexp2(t), readRefs(t, qwenRefs))
}

func TestQwenAdversarial(t *testing.T) {
	cases := readRefs(t, "testdata/qwen3.adversarial.jsonl.gz")
	checkRefs(t, qwen(t), cases)
}

func TestQwenAdversarialRegexp2Path(t *testing.T) {
	checkRefs(t, qwenRegexp2(t), readRefs(t, "testdata/qwen3.adversarial.jsonl.gz"))
}

func TestTinyReference(t *testing.T) {
	for _, name := range []string{"qwen2-tiny-f32", "qwen3-tiny-f32", "qwen2-tiny-bf16", "qwen3-tiny-bf16"} {
		t.Run(name, func(t *testing.T) {
			tok, err := Load(fmt.Sprintf("../../testdata/models/%s", name))
			if err != nil {
				t.Fatal(err)
			}
			checkRefs(t, tok, readRefs(t, "testdata/tiny.adversarial.jsonl.gz"))
		})
	}
}
