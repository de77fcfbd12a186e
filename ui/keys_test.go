package ui

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/themes"
)

// bindings lists the key.Binding fields of the structs ctxs by "context number.field".
func bindings(ctxs ...any) map[string]key.Binding {
	out := map[string]key.Binding{}
	for i, c := range ctxs {
		v := reflect.ValueOf(c)
		for j := 0; j < v.NumField(); j++ {
			if b, ok := v.Field(j).Interface().(key.Binding); ok {
				out[fmt.Sprintf("%d.%s", i, v.Type().Field(j).Name)] = b
			}
		}
	}
	return out
}

// Within one screen a key means one thing: a key bound twice would leave one binding
// unreachable behind the other in Update's switch.
func TestKeysDistinctPerScreen(t *testing.T) {
	k := defaultKeys()
	force := struct{ ForceQuit key.Binding }{k.ForceQuit}
	quit := struct{ ForceQuit, Quit key.Binding }{k.ForceQuit, k.Quit}
	screens := map[string][]any{
		"prompt":             {force, k.Prompt},
		"run view":           {quit, k.Run, k.Trace},
		"failed start":       {quit, k.Failed},
		"editor":             {force, k.Editor},
		"branch list":        {quit, k.Branches},
		"help":               {quit, k.Help},
		"inspector list":     {quit, k.List},
		"filter":             {force, k.Filter},
		"export path":        {force, k.ExportPath},
		"inspector run":      {quit, k.Detail, k.Trace},
		"inspector branches": {quit, k.RunBranches},
		"inspector help":     {quit, k.InspectHelp},
	}
	for screen, ctxs := range screens {
		seen := map[string]string{}
		for name, b := range bindings(ctxs...) {
			for _, key := range b.Keys() {
				if other, ok := seen[key]; ok {
					t.Errorf("%s: %q is bound by %s and %s", screen, key, other, name)
				}
				seen[key] = name
			}
		}
	}
}

// The help screens render from the key map: each binding of the contexts a screen documents is
// there with its description.
func TestHelpScreensNameEveryKey(t *testing.T) {
	k := defaultKeys()
	m, _ := newTestModel(120, 40)
	press(m, "?")
	in, _ := newTestInspector(t, 120, 40)
	inspKeys(in, "?")
	for _, c := range []struct {
		name   string
		screen string
		ctxs   []any
	}{
		{"workbench", plain(t, m), []any{k.Run, k.Trace, k.Editor, struct{ Quit key.Binding }{k.Quit}}},
		{"inspector", plainInspector(t, in), []any{k.List, k.Detail, k.Trace, struct{ Quit key.Binding }{k.Quit}}},
	} {
		for name, b := range bindings(c.ctxs...) {
			h := b.Help()
			if !regexp.MustCompile(regexp.QuoteMeta(h.Key) + ` +` + regexp.QuoteMeta(h.Desc)).MatchString(c.screen) {
				t.Errorf("%s help lacks %s (%s %s):\n%s", c.name, name, h.Key, h.Desc, strings.TrimSpace(c.screen))
			}
		}
	}
}

// quitCmd reports whether cmd quits the program (commands that do not answer at once, like
// cursor blinks, do not).
func quitCmd(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	select {
	case msg := <-ch:
		_, ok := msg.(tea.QuitMsg)
		return ok
	case <-time.After(50 * time.Millisecond):
		return false
	}
}

// q quits from every screen but those where text is typed, where it is a letter.
func TestQuitOnlyWhereNoTextIsTyped(t *testing.T) {
	prompt := New(Options{Theme: themes.Dark(), Coalesce: -1, NoTick: true})
	prompt.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if _, cmd := prompt.Update(keyMsg("q")); quitCmd(cmd) || prompt.prompt.Value() != "q" {
		t.Errorf("q in the prompt: typed %q", prompt.prompt.Value())
	}

	m, run := newTestModel(80, 24)
	feed(m, untilIteration(2, 3)...)
	press(m, "e")
	if _, cmd := m.Update(keyMsg("q")); quitCmd(cmd) || !strings.Contains(m.editor.Value(), "q") {
		t.Errorf("q in the editor: %q", m.editor.Value())
	}
	press(m, "esc")
	run.branches = []session.BranchInfo{{ID: 1, Current: true}}
	for _, open := range []string{"b", "?", ""} {
		press(m, "esc")
		if open != "" {
			press(m, open)
		}
		if _, cmd := m.Update(keyMsg("q")); !quitCmd(cmd) {
			t.Errorf("q after %q (mode %v) does not quit", open, m.mode)
		}
	}

	in, _ := newTestInspector(t, 80, 24)
	inspKeys(in, "/")
	if cmd := inspKeys(in, "q"); quitCmd(cmd) || in.filter.Value() != "q" {
		t.Errorf("q in the filter: %q", in.filter.Value())
	}
	inspKeys(in, "esc", "x")
	if cmd := inspKeys(in, "q"); quitCmd(cmd) || !strings.HasSuffix(in.exportIn.Value(), "q") {
		t.Errorf("q in the export path: %q", in.exportIn.Value())
	}
	for _, open := range [][]string{nil, {"?"}, {"enter"}, {"enter", "b"}} {
		inspKeys(in, "esc", "esc", "esc")
		inspKeys(in, open...)
		if !quitCmd(inspKeys(in, "q")) {
			t.Errorf("q after %v (mode %v) does not quit", open, in.mode)
		}
	}
}
