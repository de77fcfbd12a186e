package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/infty-dev/infty/session"
)

// Solve runs one question headless, printing its events in spec.Format to out (text: the
// header, done and errors to errOut). It returns the run's error, if it ended in one.
func Solve(ctx context.Context, spec *RunSpec, question string, out, errOut io.Writer) error {
	if err := spec.CheckMode(); err != nil {
		return err
	}
	if err := spec.CheckFormat(); err != nil {
		return err
	}
	if spec.Warn == nil {
		spec.Warn = warnTo(errOut)
	}
	s, err := NewSession(ctx, spec, question)
	if err != nil {
		return err
	}
	defer s.Close()
	e := s.Engine
	w := bufio.NewWriter(out)
	defer w.Flush()
	print := func(ev session.Event) error { return WriteEventJSON(w, ev) }
	if spec.Format == "text" {
		print = newTextPrinter(w, errOut).print
		fmt.Fprintf(errOut, "run %s · %s%s · %s · η=%d φ=%d · log %s\n", e.RunID(), s.Model.Name(), servedBy(s.Model), s.Config.Mode, e.Config().Eta, e.Config().Phi, s.Config.LogPath)
	}
	ch, err := e.Start(ctx, question)
	if err != nil {
		return err
	}
	for ev := range ch {
		if err := print(ev); err != nil {
			return err
		}
		if ev.Type == session.EventDelta {
			continue
		}
		if err := w.Flush(); err != nil {
			return err
		}
		switch ev.Type {
		case session.EventError:
			_ = e.Wait()
			ReportPanic(errOut, e.Err())
			return errors.New(ev.Message)
		case session.EventDone:
			return nil
		}
	}
	return nil
}

// WriteEventJSON writes one event as a JSON line; the fields the command-line contract names are
// always present for their type, even when zero.
func WriteEventJSON(w io.Writer, ev session.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	need := map[session.EventType][]string{
		session.EventIterationStart: {"iteration"},
		session.EventDelta:          {"iteration", "text"},
		session.EventSummary:        {"iteration", "text"},
		session.EventAnswer:         {"text"},
		session.EventDone:           {"iterations", "tokens", "seconds"},
		session.EventError:          {"message"},
	}
	for _, k := range need[ev.Type] {
		if _, ok := obj[k]; !ok {
			switch k {
			case "text", "message":
				obj[k] = ""
			default:
				obj[k] = 0
			}
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	// "type" first, the rest sorted: stable lines that read well.
	sort.Slice(keys, func(i, j int) bool {
		if keys[i] == "type" || keys[j] == "type" {
			return keys[i] == "type"
		}
		return keys[i] < keys[j]
	})
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := marshalNoEscape(obj[k])
		if err != nil {
			return err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteString("}\n")
	_, err = w.Write(buf.Bytes())
	return err
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// textPrinter renders events for a person reading a terminal or a file.
type textPrinter struct {
	w, errOut io.Writer
	part      session.Part
}

func newTextPrinter(w, errOut io.Writer) *textPrinter { return &textPrinter{w: w, errOut: errOut} }

func (p *textPrinter) print(ev session.Event) error {
	var err error
	switch ev.Type {
	case session.EventIterationStart:
		p.part = ""
		_, err = fmt.Fprintf(p.w, "\n── iteration %d ──\n", ev.Iteration)
	case session.EventDelta:
		if ev.Part != p.part {
			p.part = ev.Part
			label := map[session.Part]string{session.PartSummary: "\n[summary]\n", session.PartConclusion: "\n[conclusion]\n"}[ev.Part]
			if _, err = io.WriteString(p.w, label); err != nil {
				return err
			}
		}
		_, err = io.WriteString(p.w, ev.Text)
	case session.EventIterationEnd:
		forced := ""
		if ev.Forced {
			forced = ", forced"
		}
		_, err = fmt.Fprintf(p.w, "\n(%d tokens, %.1fs%s)\n", ev.Tokens, ev.Seconds, forced)
	case session.EventAnswer:
		_, err = fmt.Fprintf(p.w, "\n%s\n", AnswerLine(ev.Text, "(no \\boxed{} answer)", ev.Correct))
	case session.EventDone:
		_, err = fmt.Fprintf(p.errOut, "done: %d iterations, %d tokens, %.1fs\n", ev.Iterations, ev.Tokens, ev.Seconds)
	case session.EventError:
		_, err = fmt.Fprintf(p.errOut, "error: %s\n", ev.Message)
	}
	return err
}
