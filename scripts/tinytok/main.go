// Command tinytok writes the tiny model's tokenizer files (runtime/tinymodel.TokenizerFiles) into
// a folder: `go run ./scripts/tinytok runtime/tinymodel/recipe`.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/infty-dev/infty/runtime/tinymodel"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tinytok DIR")
		os.Exit(2)
	}
	tok, cfg, err := tinymodel.TokenizerFiles()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for name, b := range map[string][]byte{"tokenizer.json": tok, "tokenizer_config.json": cfg} {
		if err := os.WriteFile(filepath.Join(os.Args[1], name), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
