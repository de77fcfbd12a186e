package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/infty-dev/infty/app"
	"github.com/infty-dev/infty/runtime/hub"
	"github.com/spf13/cobra"
)

func init() {
	addCommand(newPullCmd)
	addCommand(newModelsCmd)
}

const hubEnvHelp = `
The cache is the one Python's huggingface_hub uses, so both share downloads:
  HF_HUB_CACHE   the cache folder (default $HF_HOME/hub)
  HF_HOME        default ~/.cache/huggingface
  HF_ENDPOINT    the hub (default https://huggingface.co)
  HF_TOKEN       access token for gated or private models (else the file $HF_HOME/token)
  HF_HUB_OFFLINE 1 to never touch the network
  INFTY_HUB_STALL_TIMEOUT  how long a request may go silent before it is retried (default 60s)`

func newPullCmd() *cobra.Command {
	var quiet, verify bool
	var stall string
	cmd := &cobra.Command{
		Use:   "pull ORG/NAME[@REVISION]",
		Short: "Download a model from the Hugging Face hub into the shared cache",
		Long: "Download what infty needs of a model repo (config, generation config, tokenizer, " +
			"safetensors weights — only the shards the index names) into the hub cache. " +
			"Interrupted downloads resume; every file is checked against its announced size " +
			"and, for large (LFS) files, its sha256 before it is used. Files already in the cache " +
			"are trusted by their size; --verify rehashes them and downloads again any that do not match.\n" + hubEnvHelp,
		Example: "  infty pull deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B\n  infty pull Qwen/Qwen3-0.6B@main\n  infty pull --verify Qwen/Qwen3-0.6B",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, rev, err := hub.ParseRepoID(args[0])
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt)
			defer stop()
			cfg := hub.ConfigFromEnv()
			if stall == "" {
				stall = os.Getenv(hub.StallTimeoutEnv)
			}
			if stall != "" {
				d, err := hub.ParseStallTimeout(stall)
				if err != nil {
					return fmt.Errorf("--stall-timeout or %s: %w", hub.StallTimeoutEnv, err)
				}
				cfg.StallTimeout = d
			}
			c := hub.NewClient(cfg)
			c.Verify = verify
			var pv *app.PullView
			if !quiet {
				pv = app.NewPullView(cmd.ErrOrStderr())
				c.Progress = pv.Update
			}
			snap, err := c.Pull(ctx, repo, rev)
			if pv != nil {
				pv.Finish()
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s@%s commit %s: %d files, %s in %s\n",
				snap.Repo, snap.Revision, snap.Commit, len(snap.Files), hub.FormatBytes(snap.Size), snap.Dir)
			if verify {
				fmt.Fprintf(cmd.OutOrStdout(), "verified: %d cached files matched their hash", len(snap.Verified))
				if len(snap.Repaired) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "; corrupt and downloaded again: %s", strings.Join(snap.Repaired, ", "))
				}
				fmt.Fprintln(cmd.OutOrStdout())
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print no progress")
	cmd.Flags().BoolVar(&verify, "verify", false, "rehash the files already in the cache and download again any that are corrupt")
	cmd.Flags().StringVar(&stall, "stall-timeout", "", "retry a request that goes this long without an answer or a byte, e.g. 90s (default $"+hub.StallTimeoutEnv+", else 60s)")
	return cmd
}

func newModelsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "models",
		Short: "List the models in the Hugging Face hub cache with their revision, commit and size",
		Long:  "List every model snapshot in the hub cache: the revisions (refs) that point at it, its commit, the size of its files, and whether it holds everything infty needs to load it.\n" + hubEnvHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cache := hub.ConfigFromEnv().CacheDir
			list, err := hub.ListCached(cache)
			if err != nil {
				return fmt.Errorf("reading the cache %s: %w", cache, err)
			}
			out := cmd.OutOrStdout()
			if len(list) == 0 {
				fmt.Fprintf(out, "no models in the cache at %s; fetch one with `infty pull ORG/NAME`\n", cache)
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "MODEL\tREVISION\tCOMMIT\tSIZE\tSTATUS")
			for _, m := range list {
				refs := strings.Join(m.Refs, ",")
				if refs == "" {
					refs = "-"
				}
				status := "complete"
				if !m.Complete {
					status = "incomplete: lacks " + strings.Join(m.Missing, ", ")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Repo, refs, shortCommit(m.Commit), hub.FormatBytes(m.Size), status)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "cache: %s\n", cache)
			return nil
		},
	}
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// resolveModel is app.Resolve under the name cmd_train.go calls.
func resolveModel(ctx context.Context, name string, pull bool) (string, error) {
	return app.Resolve(ctx, name, pull)
}
