package tinymodel

import (
	"bytes"
	"os"
	"testing"
)

// The recipe's tokenizer files are what TokenizerFiles builds, so `make tiny-model` and the
// shipped model agree on every id.
func TestRecipeTokenizerIsGenerated(t *testing.T) {
	tok, cfg, err := TokenizerFiles()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"recipe/tokenizer.json": tok, "recipe/tokenizer_config.json": cfg} {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from TokenizerFiles(); regenerate it with `go run ./scripts/tinytok`", name)
		}
	}
}
