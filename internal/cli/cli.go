// Package cli is how infty's command line speaks to a person outside the commands themselves:
// help wrapped to the terminal with every word as written (no case changes: flag names, paths
// and η stay what they are), which errors are usage errors, and the refusal of a first word
// that is a mistyped command rather than a question.
package cli

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/term"
	"github.com/infty-dev/infty/ui"
	"github.com/spf13/cobra"
)

// termWidth is the width help is wrapped to: the terminal's, else $COLUMNS, else 80.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok && term.IsTerminal(f.Fd()) {
		if cols, _, err := term.GetSize(f.Fd()); err == nil && cols > 0 {
			return cols
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}

// PrintHelp writes a command's help wrapped at word boundaries to the output's width, every
// word as it was written (no case changes: flag names, paths and η stay what they are).
func PrintHelp(c *cobra.Command, _ []string) {
	w := c.OutOrStdout()
	width := max(termWidth(w), 40)
	var b strings.Builder
	text := c.Long
	if text == "" {
		text = c.Short
	}
	writeWrapped(&b, text, width, "")
	b.WriteString("\nUsage:\n")
	if c.Runnable() {
		writeWrapped(&b, c.UseLine(), width, "  ")
	}
	if c.HasAvailableSubCommands() {
		writeWrapped(&b, c.CommandPath()+" COMMAND [flags]", width, "  ")
		b.WriteString("\nCommands:\n")
		pad := 0
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				pad = max(pad, len(sub.Name()))
			}
		}
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				writeItem(&b, sub.Name(), sub.Short, pad, width)
			}
		}
	}
	if fl := c.LocalFlags(); fl.HasAvailableFlags() {
		b.WriteString("\nFlags:\n" + fl.FlagUsagesWrapped(width-1))
	}
	if fl := c.InheritedFlags(); fl.HasAvailableFlags() {
		b.WriteString("\nGlobal flags:\n" + fl.FlagUsagesWrapped(width-1))
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\n")
		writeWrapped(&b, "Use \""+c.CommandPath()+" COMMAND --help\" for more about a command.", width, "")
	}
	fmt.Fprint(w, b.String())
}

// writeWrapped writes text, each of its lines wrapped to width under indent; a line's own
// leading spaces carry over to the lines it wraps onto.
func writeWrapped(b *strings.Builder, text string, width int, indent string) {
	for _, line := range reflow(strings.Split(text, "\n")) {
		lead := indent + line[:len(line)-len(strings.TrimLeft(line, " "))]
		for _, l := range ui.WrapText(strings.TrimLeft(line, " "), max(10, width-len(lead))) {
			b.WriteString(strings.TrimRight(lead+l, " ") + "\n")
		}
	}
}

// reflow joins the lines of a sentence that its author broke at about 100 columns, so that a
// narrower terminal does not show them ragged: a long line that does not end a sentence or
// introduce something runs on into a next line of prose (not indented, not a list item).
func reflow(lines []string) []string {
	var out []string
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		for i+1 < len(lines) && len(line) >= 70 && !strings.HasSuffix(line, ".") && !strings.HasSuffix(line, ":") &&
			lines[i+1] != "" && !strings.HasPrefix(lines[i+1], " ") && !strings.HasPrefix(lines[i+1], "-") {
			i++
			line += " " + lines[i]
		}
		out = append(out, line)
	}
	return out
}

// writeItem writes "  name   text" with text wrapped in its column.
func writeItem(b *strings.Builder, name, text string, pad, width int) {
	col := 2 + pad + 3
	for i, l := range ui.WrapText(text, max(10, width-col)) {
		head := strings.Repeat(" ", col)
		if i == 0 {
			head = "  " + name + strings.Repeat(" ", col-2-len(name))
		}
		b.WriteString(head + l + "\n")
	}
}

// usageErrors are the starts of cobra's and pflag's messages about a malformed command line.
var usageErrors = regexp.MustCompile(`^(unknown (command|flag|shorthand flag)|flag needs an argument|invalid argument|(accepts|requires) .* arg|required flag)`)

// IsUsageError says whether err is about a malformed command line.
func IsUsageError(err error) bool { return usageErrors.MatchString(err.Error()) }

// commandLike matches a first argument that could be a command name: one bare word.
var commandLike = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// MistypedCommand is the error for a bare `infty WORD` whose WORD is close to a command name
// (cobra's suggestions: edit distance 2 or a prefix), so that `infty exprot --log run.jsonl`
// is not sent to the model as a question. A one-word question that looks like a command is
// asked after `--`: `infty -- inspect`.
func MistypedCommand(root *cobra.Command, args []string) error {
	if len(args) == 0 || root.ArgsLenAtDash() == 0 || !commandLike.MatchString(args[0]) {
		return nil
	}
	word := args[0]
	if root.SuggestionsMinimumDistance <= 0 {
		root.SuggestionsMinimumDistance = 2 // cobra sets its default only on its own path
	}
	sugg := root.SuggestionsFor(word)
	if len(sugg) == 0 {
		return nil
	}
	return fmt.Errorf("unknown command %q for \"infty\": did you mean %s? (to ask %q as a question, write `infty -- %s`)",
		word, strings.Join(sugg, " or "), strings.Join(args, " "), strings.Join(args, " "))
}
