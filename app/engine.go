package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/remote"
)

// EngineEnv names the variable that gives --engine its default.
const EngineEnv = "INFTY_ENGINE"

// keyEnvs are the variables an API key is read from, first set first, without --api-key-env.
var keyEnvs = []string{"INFTY_API_KEY", "OPENAI_API_KEY"}

// EngineSpec says which inference server runs a model (see package remote); a zero URL runs it
// in this process.
type EngineSpec struct {
	URL string
	// Tokenizer is the served model's tokenizer: a folder, or a hub id ORG/NAME looked up like
	// --model; "" looks the served name up in the Hugging Face cache, else uses the server's
	// tokenize endpoints where it has them (vLLM, llama.cpp).
	Tokenizer string
	// TokenizerFlag is the flag that sets Tokenizer, for errors ("--tokenizer").
	TokenizerFlag string
	// KeyEnv names the variable holding the API key; "" reads INFTY_API_KEY, else OPENAI_API_KEY.
	KeyEnv string
}

// apiKey reads the key from the environment; it is only ever sent to the server.
func (e EngineSpec) apiKey() (string, error) {
	if e.KeyEnv != "" {
		k := os.Getenv(e.KeyEnv)
		if k == "" {
			return "", fmt.Errorf("--api-key-env %s: $%s is not set", e.KeyEnv, e.KeyEnv)
		}
		return k, nil
	}
	for _, v := range keyEnvs {
		if k := os.Getenv(v); k != "" {
			return k, nil
		}
	}
	return "", nil
}

// tokenizerDir is the folder the served model's prompts are rendered and counted with.
func (e EngineSpec) tokenizerDir(ctx context.Context, served string, pull bool) (string, error) {
	flag := cmp.Or(e.TokenizerFlag, "--tokenizer")
	if e.Tokenizer == "" {
		if served == "" {
			return "", fmt.Errorf("engine %s: no tokenizer: pass %s DIR or ORG/NAME (the served model's, for its chat template and token counts) and --model NAME", e.URL, flag)
		}
		dir, err := Resolve(ctx, served, pull)
		if err != nil {
			return "", fmt.Errorf("engine %s: no tokenizer for the served model %q (it is not a model in the Hugging Face cache: %v); pass %s DIR or ORG/NAME", e.URL, served, err, flag)
		}
		return dir, nil
	}
	// A folder with the tokenizer files alone is enough: no config.json needed, unlike --model.
	if fi, err := os.Stat(e.Tokenizer); err == nil && fi.IsDir() {
		return e.Tokenizer, nil
	}
	dir, err := Resolve(ctx, e.Tokenizer, pull)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	return dir, nil
}

// openRemote opens the model named (served name; "" for the only one served) at e.URL.
func openRemote(ctx context.Context, name string, e EngineSpec, pull bool, warn func(string)) (Model, error) {
	key, err := e.apiKey()
	if err != nil {
		return nil, err
	}
	tok, noLocal := e.tokenizerDir(ctx, name, pull)
	if noLocal != nil && e.Tokenizer != "" {
		return nil, noLocal // the tokenizer asked for is not there: no quiet fallback
	}
	// Without a local tokenizer, remote.Open falls back on the server's tokenize endpoints.
	m, err := remote.Open(ctx, remote.Options{URL: e.URL, Model: name, APIKey: key, Tokenizer: tok, Warn: warn})
	if noLocal != nil && errors.Is(err, remote.ErrNoTokenizer) {
		return nil, fmt.Errorf("%w (the server cannot stand in: %v)", noLocal, err)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// EngineInfo writes what the server at e.URL says about itself and the model named (all it
// serves when name is "" and it serves several): what `infty backend --engine` prints.
func EngineInfo(ctx context.Context, w io.Writer, e EngineSpec, name string) error {
	key, err := e.apiKey()
	if err != nil {
		return err
	}
	info, err := remote.Describe(ctx, remote.Options{URL: e.URL, Model: name, APIKey: key})
	if err != nil {
		return err
	}
	version := cmp.Or(info.Version, "(not reported)")
	fmt.Fprintf(w, "engine: %s\nserver: %s %s\nserves: %s\n", info.URL, info.Flavour, version, strings.Join(info.Served, ", "))
	if info.Model != "" {
		ctxLen := "(not reported)"
		if info.ContextLength > 0 {
			ctxLen = fmt.Sprint(info.ContextLength)
		}
		fmt.Fprintf(w, "model: %s\ncontext length: %s\n", info.Model, ctxLen)
	}
	for _, warning := range info.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
	return nil
}

// warnTo prints a remote engine's warnings on w.
func warnTo(w io.Writer) func(string) {
	return func(msg string) { fmt.Fprintf(w, "warning: %s\n", msg) }
}

// servedBy is " on KIND at URL" for a model a server runs, "" for one in this process.
func servedBy(m llm.Model) string {
	if s := llm.ServerOf(m); s != nil {
		return " on " + s.Kind + " at " + s.URL
	}
	return ""
}
