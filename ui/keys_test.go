package ui

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
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
	screens := map[string][]any{
		"prompt":             {force, k.Prompt},
		"run view":           {force, k.Run, k.Trace},
		"editor":             {force, k.Editor},
		"branch list":        {force, k.Branches},
		"help":               {force, k.Help},
		"inspector list":     {force, k.List},
		"filter":             {force, k.Filter},
		"export path":        {force, k.ExportPath},
		"inspector run":      {force, k.Detail, k.Trace},
		"inspector branches": {force, k.RunBranches},
		"inspector help":     {force, k.InspectHelp},
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
		{"workbench", plain(t, m), []any{k.Run, k.Trace, k.Editor}},
		{"inspector", plainInspector(t, in), []any{k.List, k.Detail, k.Trace}},
	} {
		for name, b := range bindings(c.ctxs...) {
			h := b.Help()
			if !regexp.MustCompile(regexp.QuoteMeta(h.Key) + ` +` + regexp.QuoteMeta(h.Desc)).MatchString(c.screen) {
				t.Errorf("%s help lacks %s (%s %s):\n%s", c.name, name, h.Key, h.Desc, strings.TrimSpace(c.screen))
			}
		}
	}
}
