package app

import (
	"bufio"
	"fmt"
	"io"

	"github.com/infty-dev/infty/internal/jsonl"
	"github.com/infty-dev/infty/runtime/chattemplate"
	"github.com/infty-dev/infty/runtime/jinja"
)

// RenderChatLines renders every JSON line of in with t, writing each with "rendered" (or
// "error") added to out and each failure to errOut; it returns how many conversations failed.
func RenderChatLines(t *chattemplate.Template, in io.Reader, out, errOut io.Writer) (int, error) {
	r := jsonl.NewReader(in, "stdin")
	w := bufio.NewWriter(out)
	defer w.Flush()
	failed := 0
	for b, ok := r.Next(); ok; b, ok = r.Next() {
		v, err := jinja.DecodeJSON(b)
		if err != nil {
			return failed, r.Errorf("not valid JSON: %w", err)
		}
		obj, ok := v.(*jinja.Dict)
		if !ok {
			return failed, r.Errorf("expected a JSON object")
		}
		vars := jinja.NewDict()
		for _, k := range obj.Keys() {
			if k != "rendered" && k != "error" {
				val, _ := obj.Get(k)
				vars.Set(k, val)
			}
		}
		rendered, err := renderLine(t, vars)
		if err != nil {
			failed++
			vars.Set("error", err.Error())
			fmt.Fprintf(errOut, "%s: %v\n", r.Where(), err)
		} else {
			vars.Set("rendered", rendered)
		}
		s, err := jinja.EncodeJSON(vars)
		if err != nil {
			return failed, r.Errorf("%w", err)
		}
		w.WriteString(s)
		w.WriteByte('\n')
	}
	if err := r.Err(); err != nil {
		return failed, err
	}
	return failed, nil
}

// renderLine renders one input object; continue_final_message is apply_chat_template's
// option, not a template variable, so it is taken out and applied to the result.
func renderLine(t *chattemplate.Template, vars *jinja.Dict) (string, error) {
	cont, _ := vars.Get("continue_final_message")
	if c, _ := cont.(bool); !c {
		return t.RenderVars(vars)
	}
	inner := jinja.NewDict()
	for _, k := range vars.Keys() {
		if k != "continue_final_message" {
			v, _ := vars.Get(k)
			inner.Set(k, v)
		}
	}
	if agp, _ := inner.Get("add_generation_prompt"); agp == true {
		return "", fmt.Errorf("continue_final_message and add_generation_prompt exclude each other")
	}
	msgs, _ := inner.Get("messages")
	list, _ := msgs.([]any)
	if len(list) == 0 {
		return "", fmt.Errorf("continue_final_message needs a message to continue")
	}
	last, _ := list[len(list)-1].(*jinja.Dict)
	var content string
	if last != nil {
		c, _ := last.Get("content")
		content, _ = c.(string)
	}
	out, err := t.RenderVars(inner)
	if err != nil {
		return "", err
	}
	return chattemplate.ContinueFinal(out, content)
}
