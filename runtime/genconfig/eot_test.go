package genconfig_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/infty-dev/infty/runtime/chattemplate"
	"github.com/infty-dev/infty/runtime/genconfig"
	"github.com/infty-dev/infty/runtime/tokenizer"
)

func TestEndOfTurnIDsUnitesTheSources(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "models", "qwen2-tiny-f32")
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	special, err := chattemplate.SpecialTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	eos := special["eos_token"]
	imEnd, ok := tok.TokenToID("<|im_end|>")
	if eos != "<|im_end|>" {
		t.Fatalf("fixture: eos_token is %q, want <|im_end|>", eos)
	}
	if !ok || imEnd == 7 || imEnd == 9 {
		t.Fatalf("fixture: <|im_end|> is %d, %v", imEnd, ok)
	}
	gen := &genconfig.Config{EOSTokenIDs: []int{9, 7}}
	if got := genconfig.EndOfTurnIDs([]int{7}, gen, eos, tok); !slices.Equal(got, []int{7, 9, imEnd}) {
		t.Errorf("config, generation config and tokenizer: got %v, want [7 9 %d]", got, imEnd)
	}
	if got := genconfig.EndOfTurnIDs([]int{imEnd}, nil, eos, tok); !slices.Equal(got, []int{imEnd}) {
		t.Errorf("repeats: got %v, want [%d]", got, imEnd)
	}
	if got := genconfig.EndOfTurnIDs([]int{7}, gen, "", nil); !slices.Equal(got, []int{7, 9}) {
		t.Errorf("without a tokenizer: got %v, want [7 9]", got)
	}
}
