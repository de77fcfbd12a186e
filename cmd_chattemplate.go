package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/infty-dev/infty/app"
	"github.com/infty-dev/infty/runtime/chattemplate"
)

func init() { addCommand(newChatTemplateCmd) }

func newChatTemplateCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "chat-template --tokenizer DIR",
		Short: "Render chat conversations with a model's chat template (JSON Lines in, out)",
		Long: "Reads JSON Lines from stdin, each {\"messages\": [...], \"add_generation_prompt\": bool, ...}, " +
			"renders the chat_template of DIR/tokenizer_config.json exactly as transformers' " +
			"apply_chat_template would (other keys such as enable_thinking, tools and documents " +
			"become template variables), and prints each object with \"rendered\" added. " +
			"\"continue_final_message\": true ends the text after the last message's content, " +
			"as transformers does, instead of closing that turn. " +
			"A conversation the template rejects is printed with \"error\" instead, and the " +
			"command exits with status 1 at the end.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				// Not a folder: a hub id (ORG/NAME[@REV]) already in the local cache.
				resolved, rerr := app.Resolve(cmd.Context(), dir, false)
				if rerr != nil {
					return fmt.Errorf("chat template: %s is neither a folder nor a model in the hub cache (%w)", dir, rerr)
				}
				dir = resolved
			}
			t, err := chattemplate.Load(dir)
			if err != nil {
				return err
			}
			failed, err := app.RenderChatLines(t, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d conversation(s) could not be rendered", failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "tokenizer", "", "folder holding tokenizer_config.json, or a cached hub model id")
	_ = cmd.MarkFlagRequired("tokenizer")
	return cmd
}
