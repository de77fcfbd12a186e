package ui

import "charm.land/bubbles/v2/key"

// keyMap holds the workbench's bindings. External checks press exactly these keys, so they are
// part of the interface: change them only with the README and scripts/e2e.sh.
type keyMap struct {
	Pause      key.Binding
	Edit       key.Binding
	Apply      key.Binding
	Cancel     key.Binding
	Next       key.Binding
	Prev       key.Binding
	Fold       key.Binding
	Branches   key.Binding
	Help       key.Binding
	Quit       key.Binding
	Up         key.Binding
	Down       key.Binding
	PageUp     key.Binding
	PageDown   key.Binding
	Top        key.Binding
	Bottom     key.Binding
	Filter     key.Binding
	Mark       key.Binding
	Export     key.Binding
	Open       key.Binding
	OnlyEdited key.Binding
}

func defaultKeys() keyMap {
	return keyMap{
		Pause:      key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "pause / resume")),
		Edit:       key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit summary / paused reasoning")),
		Apply:      key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "apply the edit")),
		Cancel:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel / close")),
		Next:       key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "select next pane")),
		Prev:       key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "select previous pane")),
		Fold:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "fold / unfold pane")),
		Branches:   key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "branches")),
		Help:       key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:       key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Up:         key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
		Down:       key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
		PageUp:     key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:   key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:        key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "top")),
		Bottom:     key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "bottom, follow")),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Mark:       key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mark for export")),
		Export:     key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "export marked as SFT")),
		Open:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		OnlyEdited: key.NewBinding(key.WithKeys("E"), key.WithHelp("E", "only edited")),
	}
}

// workbenchHelp is the help.KeyMap of the workbench's trace view.
type workbenchHelp struct{ k keyMap }

func (h workbenchHelp) ShortHelp() []key.Binding {
	short := func(b key.Binding, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(b.Help().Key, desc))
	}
	return []key.Binding{
		short(h.k.Pause, "pause"), short(h.k.Edit, "edit"), short(h.k.Next, "select"),
		short(h.k.Fold, "fold"), short(h.k.Branches, "branches"), h.k.Help, h.k.Quit,
	}
}

func (h workbenchHelp) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{h.k.Pause, h.k.Edit, h.k.Apply, h.k.Cancel, h.k.Branches},
		{h.k.Next, h.k.Prev, h.k.Fold, h.k.Help, h.k.Quit},
		{h.k.Up, h.k.Down, h.k.PageUp, h.k.PageDown, h.k.Top, h.k.Bottom},
	}
}
