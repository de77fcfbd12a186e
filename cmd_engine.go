package main

import (
	"os"

	"github.com/infty-dev/infty/app"
	"github.com/spf13/pflag"
)

// engineFlags are --engine, --tokenizer and --api-key-env, shared by every command that can drive
// an inference server instead of the embedded runtime.
type engineFlags struct {
	app.EngineSpec
	flags *pflag.FlagSet
}

func (f *engineFlags) register(fl *pflag.FlagSet) {
	f.flags = fl
	fl.StringVar(&f.URL, "engine", "", "inference server to run the model on, e.g. http://gpu1:8000 (vLLM, SGLang, llama.cpp, Ollama, OpenAI-compatible; default: $"+app.EngineEnv+"); --model is then the served name")
	fl.StringVar(&f.Tokenizer, "tokenizer", "", "with --engine: the served model's tokenizer, a folder or ORG/NAME (default: the served name in the Hugging Face cache)")
	fl.StringVar(&f.KeyEnv, "api-key-env", "", "with --engine: the variable holding the API key (default: $INFTY_API_KEY, else $OPENAI_API_KEY)")
}

// spec is the engine the flags ask for: $INFTY_ENGINE unless --engine was given (even empty, to
// run in this process).
func (f *engineFlags) spec() app.EngineSpec {
	if !f.flags.Changed("engine") {
		f.URL = os.Getenv(app.EngineEnv)
	}
	return f.EngineSpec
}
