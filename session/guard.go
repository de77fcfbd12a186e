package session

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/infty-dev/infty/llm"
)

// PanicError is a panic recovered inside the engine: in a model's Generate (or the engine code
// it calls back), in the summarizer, or anywhere in a run's goroutine. The run that panicked ends
// with an "error" event carrying Error(); the program, the terminal and the log stay intact.
type PanicError struct {
	What  string // what failed: "model NAME", "the engine (branch N)", ...
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack, for a bug report
}

func (p *PanicError) Error() string { return fmt.Sprintf("%s panicked: %v", p.What, p.Value) }

// recovered turns a recovered panic value into a *PanicError stored in *err (nil r: nothing
// happened). Call it as `defer func() { recovered(recover(), what, &err) }()`.
func recovered(r any, what string, err *error) {
	if r == nil {
		return
	}
	*err = &PanicError{What: what, Value: r, Stack: debug.Stack()}
}

// generate calls m.Generate; a panic in the model or in yield becomes an error naming the model.
func generate(ctx context.Context, m llm.Model, req llm.Request, yield func(llm.Token) error) (res llm.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, "model "+safeName(m), &err)
		}
	}()
	return m.Generate(ctx, req, yield)
}

// safeName is m.Name(), or a placeholder when Name itself panics.
func safeName(m llm.Model) (name string) {
	defer func() {
		if recover() != nil {
			name = "(unnamed)"
		}
	}()
	return m.Name()
}
