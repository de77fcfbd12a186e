package main

import (
	"github.com/spf13/cobra"

	"github.com/infty-dev/infty/app"
	"github.com/infty-dev/infty/runtime/tokenizer"
)

func init() { addCommand(newTokenizeCmd) }

func newTokenizeCmd() *cobra.Command {
	var dir string
	var decode bool
	cmd := &cobra.Command{
		Use:   "tokenize --tokenizer DIR [--decode]",
		Short: "Encode or decode text with a model's tokenizer (JSON Lines in, out)",
		Long: "Reads JSON Lines from stdin. Each {\"text\": ...} is printed back with \"ids\" added: " +
			"the ids of DIR/tokenizer.json (or tokenizer.json.gz) for the text, with special-token " +
			"strings inside it matched and nothing added around it. With --decode, each " +
			"{\"ids\": [...]} is printed back with \"text\" added, special tokens decoded to their " +
			"content. Other fields are kept; blank lines are skipped. A bad line stops the command " +
			"with an error naming its line number.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := tokenizer.Load(dir)
			if err != nil {
				return err
			}
			return app.TokenizeLines(tok, decode, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&dir, "tokenizer", "", "folder holding tokenizer.json")
	cmd.Flags().BoolVar(&decode, "decode", false, "decode \"ids\" to \"text\" instead of encoding")
	_ = cmd.MarkFlagRequired("tokenizer")
	return cmd
}
