// Package themes holds infty's palettes and the lipgloss styles built from them. Styles are named
// for what they show (a summary, a forced boundary, the paused state), never for their color, so
// the rest of the program never picks a color itself and a theme can be swapped whole.
package themes

import (
	"fmt"
	"image/color"
	"sort"
	"strings"

	"charm.land/lipgloss/v2"
)

// Palette is the handful of colors a theme is made of. A nil color means "the terminal's own".
type Palette struct {
	Text      color.Color // body text: reasoning
	Muted     color.Color // secondary text: hints, hidden-line counts, history
	Accent    color.Color // headers, the selection
	Summary   color.Color // summaries, the distinct pane
	Answer    color.Color // the conclusion and its answer
	Good      color.Color // a verified answer, the running state
	Bad       color.Color // a wrong answer, errors
	Warn      color.Color // forced boundaries, the paused state
	BarFg     color.Color // status bar text
	BarBg     color.Color // status bar background
	SelectBg  color.Color // background of the selected pane's header
	BorderDim color.Color // borders of panes that are not selected
}

// Theme is the set of styles every view draws with.
type Theme struct {
	Name string

	App          lipgloss.Style
	Title        lipgloss.Style
	Muted        lipgloss.Style
	Error        lipgloss.Style
	PaneHeader   lipgloss.Style // "Iteration 3 · 412 tok · …"
	PaneSelected lipgloss.Style // the header of the selected pane
	Reasoning    lipgloss.Style
	History      lipgloss.Style
	Summary      lipgloss.Style // summary text
	SummaryBar   lipgloss.Style // the left rule that sets a summary pane apart
	SummaryTitle lipgloss.Style
	Conclusion   lipgloss.Style
	Answer       lipgloss.Style
	Correct      lipgloss.Style
	Wrong        lipgloss.Style
	Forced       lipgloss.Style // the marker of a boundary the engine forced
	Natural      lipgloss.Style // the marker of a boundary the model wrote
	Folded       lipgloss.Style // "… 57 lines hidden"
	Edited       lipgloss.Style // the marker of an edited summary
	StatusBar    lipgloss.Style
	StatusKey    lipgloss.Style
	StatusValue  lipgloss.Style
	Running      lipgloss.Style
	Paused       lipgloss.Style
	Done         lipgloss.Style
	Dialog       lipgloss.Style // the box of the editor, branch list and help
	DialogTitle  lipgloss.Style
	ListItem     lipgloss.Style
	ListSelected lipgloss.Style
	HelpKey      lipgloss.Style
	HelpDesc     lipgloss.Style
	HelpSep      lipgloss.Style
}

// New builds a theme's styles from its palette.
func New(name string, p Palette) Theme {
	fg := func(c color.Color) lipgloss.Style {
		s := lipgloss.NewStyle()
		if c != nil {
			s = s.Foreground(c)
		}
		return s
	}
	bar := lipgloss.NewStyle()
	if p.BarBg != nil {
		bar = bar.Background(p.BarBg)
	}
	if p.BarFg != nil {
		bar = bar.Foreground(p.BarFg)
	}
	sel := fg(p.Accent).Bold(true)
	if p.SelectBg != nil {
		sel = sel.Background(p.SelectBg)
	} else {
		sel = sel.Reverse(true)
	}
	border := lipgloss.RoundedBorder()
	dialog := lipgloss.NewStyle().Border(border).Padding(0, 1)
	if p.Accent != nil {
		dialog = dialog.BorderForeground(p.Accent)
	}
	return Theme{
		Name:         name,
		App:          fg(p.Text),
		Title:        fg(p.Accent).Bold(true),
		Muted:        fg(p.Muted),
		Error:        fg(p.Bad).Bold(true),
		PaneHeader:   fg(p.Accent).Bold(true),
		PaneSelected: sel,
		Reasoning:    fg(p.Text),
		History:      fg(p.Muted).Italic(true),
		Summary:      fg(p.Summary),
		SummaryBar:   fg(p.Summary),
		SummaryTitle: fg(p.Summary).Bold(true),
		Conclusion:   fg(p.Answer),
		Answer:       fg(p.Answer).Bold(true),
		Correct:      fg(p.Good).Bold(true),
		Wrong:        fg(p.Bad).Bold(true),
		Forced:       fg(p.Warn),
		Natural:      fg(p.Good),
		Folded:       fg(p.Muted).Italic(true),
		Edited:       fg(p.Warn).Bold(true),
		StatusBar:    bar,
		StatusKey:    bar.Bold(true),
		StatusValue:  bar,
		Running:      bar.Foreground(orDefault(p.Good, p.BarFg)).Bold(true),
		Paused:       bar.Foreground(orDefault(p.Warn, p.BarFg)).Bold(true),
		Done:         bar.Foreground(orDefault(p.Accent, p.BarFg)).Bold(true),
		Dialog:       dialog,
		DialogTitle:  fg(p.Accent).Bold(true),
		ListItem:     fg(p.Text),
		ListSelected: sel,
		HelpKey:      fg(p.Accent).Bold(true),
		HelpDesc:     fg(p.Muted),
		HelpSep:      fg(p.BorderDim),
	}
}

func orDefault(c, d color.Color) color.Color {
	if c != nil {
		return c
	}
	return d
}

// The built-in palettes. Colors are chosen for contrast on their background, and the
// high-contrast one keeps to the 16 ANSI colors so terminals map it to their own bright set.
var (
	darkPalette = Palette{
		Text:      lipgloss.Color("#D0D0D8"),
		Muted:     lipgloss.Color("#7C7C8A"),
		Accent:    lipgloss.Color("#8EA7FF"),
		Summary:   lipgloss.Color("#E8C56B"),
		Answer:    lipgloss.Color("#7FD7C4"),
		Good:      lipgloss.Color("#7BD88F"),
		Bad:       lipgloss.Color("#FF6B6B"),
		Warn:      lipgloss.Color("#FFA657"),
		BarFg:     lipgloss.Color("#E6E6EE"),
		BarBg:     lipgloss.Color("#2B2B3A"),
		SelectBg:  lipgloss.Color("#3A3F5C"),
		BorderDim: lipgloss.Color("#4A4A5A"),
	}
	lightPalette = Palette{
		Text:      lipgloss.Color("#24242E"),
		Muted:     lipgloss.Color("#6E6E7E"),
		Accent:    lipgloss.Color("#2F4FD0"),
		Summary:   lipgloss.Color("#8A5A00"),
		Answer:    lipgloss.Color("#006E5F"),
		Good:      lipgloss.Color("#1A7F37"),
		Bad:       lipgloss.Color("#C62828"),
		Warn:      lipgloss.Color("#B35900"),
		BarFg:     lipgloss.Color("#1E1E28"),
		BarBg:     lipgloss.Color("#DCDCE6"),
		SelectBg:  lipgloss.Color("#D6DCFA"),
		BorderDim: lipgloss.Color("#B8B8C4"),
	}
	highContrastPalette = Palette{
		Text:      lipgloss.White,
		Muted:     lipgloss.BrightWhite,
		Accent:    lipgloss.BrightCyan,
		Summary:   lipgloss.BrightYellow,
		Answer:    lipgloss.BrightGreen,
		Good:      lipgloss.BrightGreen,
		Bad:       lipgloss.BrightRed,
		Warn:      lipgloss.BrightMagenta,
		BarFg:     lipgloss.Black,
		BarBg:     lipgloss.BrightWhite,
		SelectBg:  lipgloss.Blue,
		BorderDim: lipgloss.White,
	}
)

// Dark, Light, HighContrast and Plain are the built-in themes.
func Dark() Theme         { return New("dark", darkPalette) }
func Light() Theme        { return New("light", lightPalette) }
func HighContrast() Theme { return New("high-contrast", highContrastPalette) }

// Plain uses no color at all: only bold, italic and reverse, which NO_COLOR permits.
func Plain() Theme { return New("plain", Palette{}) }

// Auto is the name of the default: dark or light after the terminal's background.
const Auto = "auto"

var byName = map[string]func() Theme{
	"dark":          Dark,
	"light":         Light,
	"high-contrast": HighContrast,
	"plain":         Plain,
}

// Names lists the values --theme accepts.
func Names() []string {
	names := []string{Auto}
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names[1:])
	return names
}

// Resolve picks the theme for a --theme value. noColor is whether NO_COLOR is set to a non-empty
// value (https://no-color.org): it wins over any name, because a person who set it asked for no
// color everywhere. darkBackground decides "auto" (and the empty name).
func Resolve(name string, noColor, darkBackground bool) (Theme, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		name = Auto
	}
	if name != Auto {
		if _, ok := byName[name]; !ok {
			return Theme{}, fmt.Errorf("unknown theme %q (choose one of %s)", name, strings.Join(Names(), ", "))
		}
	}
	if noColor {
		return Plain(), nil
	}
	if name == Auto {
		if darkBackground {
			return Dark(), nil
		}
		return Light(), nil
	}
	return byName[name](), nil
}
