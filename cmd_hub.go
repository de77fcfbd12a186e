package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/x/term"
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
  HF_HUB_OFFLINE 1 to never touch the network`

func newPullCmd() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull ORG/NAME[@REVISION]",
		Short: "Download a model from the Hugging Face hub into the shared cache",
		Long: "Download what infty needs of a model repo (config, generation config, tokenizer, " +
			"safetensors weights — only the shards the index names) into the hub cache. " +
			"Interrupted downloads resume; every file is checked against its announced size " +
			"and, for large (LFS) files, its sha256 before it is used.\n" + hubEnvHelp,
		Example: "  infty pull deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B\n  infty pull Qwen/Qwen3-0.6B@main",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, rev, err := hub.ParseRepoID(args[0])
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt)
			defer stop()
			c := hub.NewClient(hub.ConfigFromEnv())
			var pv *pullView
			if !quiet {
				pv = newPullView(cmd.ErrOrStderr())
				c.Progress = pv.update
			}
			snap, err := c.Pull(ctx, repo, rev)
			if pv != nil {
				pv.finish()
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s@%s commit %s: %d files, %s in %s\n",
				snap.Repo, snap.Revision, snap.Commit, len(snap.Files), hub.FormatBytes(snap.Size), snap.Dir)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print no progress")
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

// resolveModel turns a --model value (a repo id ORG/NAME[@REV], a model folder, or a cache
// path) into a model folder, for every command that loads a model. A repo id comes from the
// cache alone; it is downloaded only when pull is set (a command's --pull flag), with progress
// on stderr. See hub.Resolve.
func resolveModel(ctx context.Context, name string, pull bool) (string, error) {
	opts := hub.ResolveOptions{Download: pull}
	var pv *pullView
	if pull {
		pv = newPullView(os.Stderr)
		opts.Progress = pv.update
	}
	dir, err := hub.Resolve(ctx, name, opts)
	if pv != nil {
		pv.finish()
	}
	return dir, err
}

// pullView shows pull progress: on a terminal one line redrawn in place (bar, bytes, speed,
// ETA); otherwise a plain line per finished file, so logs stay readable.
type pullView struct {
	w     io.Writer
	tty   bool
	width int

	file      string
	fileStart int64 // FileDone when the file's first event arrived (resume point or 0)
	fetched   int64 // bytes received in this run
	fileGot   int64 // of which for the current file
	lastFile  int64
	start     time.Time
	lastDraw  time.Time
	last      hub.Progress
	drawn     bool
}

func newPullView(w io.Writer) *pullView {
	pv := &pullView{w: w, width: 80}
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(f.Fd()) {
		pv.tty = true
		if cols, _, err := term.GetSize(f.Fd()); err == nil && cols > 20 {
			pv.width = cols
		}
	}
	return pv
}

func (pv *pullView) update(p hub.Progress) {
	now := time.Now()
	if p.File != pv.file {
		pv.file, pv.fileStart, pv.lastFile, pv.fileGot = p.File, p.FileDone, p.FileDone, 0
	}
	arriving := p.Phase == hub.PhaseDownload ||
		(p.Phase == hub.PhaseFileDone || p.Phase == hub.PhaseVerify) && (pv.last.Phase == hub.PhaseDownload || pv.last.Phase == hub.PhaseVerify)
	if arriving && p.FileDone > pv.lastFile {
		if pv.fetched == 0 {
			pv.start = now
		}
		pv.fetched += p.FileDone - pv.lastFile
		pv.fileGot += p.FileDone - pv.lastFile
	}
	if p.FileDone < pv.lastFile { // the server ignored Range: the file restarted
		pv.fileStart = 0
	}
	pv.lastFile = p.FileDone
	pv.last = p
	if !pv.tty {
		switch p.Phase {
		case hub.PhaseFileDone:
			how := "cached"
			switch {
			case pv.fileGot > 0 && pv.fileStart > 0:
				how = "resumed at " + hub.FormatBytes(pv.fileStart)
			case pv.fileGot > 0:
				how = "downloaded"
			}
			fmt.Fprintf(pv.w, "%s  %s  %s\n", p.File, hub.FormatBytes(p.FileTotal), how)
		case hub.PhaseWaiting:
			fmt.Fprintf(pv.w, "%s  waiting for another process downloading it\n", p.File)
		case hub.PhaseRetry:
			fmt.Fprintf(pv.w, "%s  transfer interrupted at %s; resuming\n", p.File, hub.FormatBytes(p.FileDone))
		}
		return
	}
	if p.Phase != hub.PhaseFileDone && now.Sub(pv.lastDraw) < 100*time.Millisecond {
		return
	}
	pv.lastDraw = now
	pv.draw(now)
}

func (pv *pullView) draw(now time.Time) {
	p := pv.last
	frac := 0.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	stats := fmt.Sprintf(" %3.0f%%  %s / %s", 100*frac, hub.FormatBytes(p.Done), hub.FormatBytes(p.Total))
	if el := now.Sub(pv.start).Seconds(); pv.fetched > 0 && el > 0.2 {
		rate := float64(pv.fetched) / el
		stats += fmt.Sprintf("  %s/s", hub.FormatBytes(int64(rate)))
		if rate > 0 && p.Total > p.Done {
			eta := time.Duration(float64(p.Total-p.Done) / rate * float64(time.Second)).Round(time.Second)
			stats += "  ETA " + eta.String()
		}
	}
	switch p.Phase {
	case hub.PhaseVerify:
		stats += "  verifying"
	case hub.PhaseWaiting:
		stats += "  waiting for another process"
	case hub.PhaseRetry:
		stats += "  resuming"
	}
	name := p.File
	barW := 24
	room := pv.width - len(stats) - barW - 4
	if room < 8 {
		barW, room = 10, max(pv.width-len(stats)-14, 4)
	}
	if len(name) > room {
		name = "…" + name[len(name)-room+1:]
	}
	filled := int(frac * float64(barW))
	bar := strings.Repeat("━", filled) + strings.Repeat("─", barW-filled)
	fmt.Fprintf(pv.w, "\r\x1b[2K%-*s %s%s", room, name, bar, stats)
	pv.drawn = true
}

func (pv *pullView) finish() {
	if pv.tty && pv.drawn {
		pv.draw(time.Now())
		fmt.Fprintln(pv.w)
	}
}
