// Package genconfig reads a model folder's generation settings: the end- and begin-of-sequence
// ids and the default sampling settings of generation_config.json (optional), with
// config.json's ids as the fallback, the way transformers' GenerationConfig resolves them.
package genconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"

	"github.com/infty-dev/infty/internal/safefile"
)

// File names read from a model folder.
const (
	GenerationFile = "generation_config.json"
	ModelFile      = "config.json"
)

// Config is what a folder says about generation. Pointer fields are nil when no file sets them.
type Config struct {
	// EOSTokenIDs end generation; generation_config.json's eos_token_id (an int or a list)
	// wins over config.json's.
	EOSTokenIDs []int
	BOSTokenID  *int
	PadTokenID  *int

	DoSample          *bool
	Temperature       *float64
	TopK              *int
	TopP              *float64
	RepetitionPenalty *float64
	MaxNewTokens      *int

	// Sources lists the files that were read, for messages.
	Sources []string
}

// Sampling is the default decoding a model's files ask for.
type Sampling struct {
	Temperature float64 // 0 means greedy
	TopK        int     // 0 means off
	TopP        float64 // 0 or 1 means off
}

type rawGen struct {
	EOS               json.RawMessage `json:"eos_token_id"`
	BOS               json.RawMessage `json:"bos_token_id"`
	Pad               json.RawMessage `json:"pad_token_id"`
	DoSample          *bool           `json:"do_sample"`
	Temperature       *float64        `json:"temperature"`
	TopK              *int            `json:"top_k"`
	TopP              *float64        `json:"top_p"`
	RepetitionPenalty *float64        `json:"repetition_penalty"`
	MaxNewTokens      *int            `json:"max_new_tokens"`
}

// Load reads dir/generation_config.json (if present) and dir/config.json (if present). A file
// that exists but cannot be read or holds bad values is an error naming that file.
func Load(dir string) (*Config, error) {
	c := &Config{}
	var model, gen *rawGen
	var err error
	if model, err = readFile(filepath.Join(dir, ModelFile)); err != nil {
		return nil, err
	}
	genPath := filepath.Join(dir, GenerationFile)
	if gen, err = readFile(genPath); err != nil {
		return nil, err
	}
	for _, src := range []struct {
		path string
		raw  *rawGen
	}{{filepath.Join(dir, ModelFile), model}, {genPath, gen}} { // later wins
		if src.raw == nil {
			continue
		}
		c.Sources = append(c.Sources, src.path)
		if err := c.apply(src.raw); err != nil {
			return nil, fmt.Errorf("%s: %w", src.path, err)
		}
	}
	return c, nil
}

func readFile(path string) (*rawGen, error) {
	data, err := safefile.ReadFile(path, safefile.ConfigLimit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r rawGen
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, describeJSONError(err))
	}
	return &r, nil
}

func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s must be %s, not a JSON %s", te.Field, goTypeWord(te.Type.Kind().String()), te.Value)
	}
	return fmt.Errorf("not valid JSON: %w", err)
}

func goTypeWord(kind string) string {
	switch kind {
	case "int":
		return "an integer"
	case "float64":
		return "a number"
	case "bool":
		return "true or false"
	}
	return kind
}

func (c *Config) apply(r *rawGen) error {
	if ids, set, err := parseIDs(r.EOS); err != nil {
		return fmt.Errorf("eos_token_id: %w", err)
	} else if set {
		c.EOSTokenIDs = ids
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  **int
	}{{"bos_token_id", r.BOS, &c.BOSTokenID}, {"pad_token_id", r.Pad, &c.PadTokenID}} {
		ids, set, err := parseIDs(f.raw)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", f.name, err)
		case set && len(ids) > 0:
			id := ids[0]
			*f.dst = &id
		case set:
			*f.dst = nil
		}
	}
	if r.DoSample != nil {
		c.DoSample = r.DoSample
	}
	if r.Temperature != nil {
		if *r.Temperature < 0 || math.IsNaN(*r.Temperature) {
			return fmt.Errorf("temperature must be >= 0, got %v", *r.Temperature)
		}
		c.Temperature = r.Temperature
	}
	if r.TopK != nil {
		if *r.TopK < 0 {
			return fmt.Errorf("top_k must be >= 0, got %d", *r.TopK)
		}
		c.TopK = r.TopK
	}
	if r.TopP != nil {
		if !(*r.TopP > 0 && *r.TopP <= 1) {
			return fmt.Errorf("top_p must be in (0, 1], got %v", *r.TopP)
		}
		c.TopP = r.TopP
	}
	if r.RepetitionPenalty != nil {
		if !(*r.RepetitionPenalty > 0) {
			return fmt.Errorf("repetition_penalty must be > 0, got %v", *r.RepetitionPenalty)
		}
		c.RepetitionPenalty = r.RepetitionPenalty
	}
	if r.MaxNewTokens != nil {
		if *r.MaxNewTokens <= 0 {
			return fmt.Errorf("max_new_tokens must be > 0, got %d", *r.MaxNewTokens)
		}
		c.MaxNewTokens = r.MaxNewTokens
	}
	return nil
}

// parseIDs reads a token id given as an int, a list of ints, or null (set, but no ids).
func parseIDs(raw json.RawMessage) (ids []int, set bool, err error) {
	if len(raw) == 0 {
		return nil, false, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, false, err
	}
	one := func(x any) (int, error) {
		f, ok := x.(float64)
		if !ok || f != math.Trunc(f) || f < 0 || f > math.MaxInt32 {
			return 0, fmt.Errorf("expected a non-negative integer id, got %s", raw)
		}
		return int(f), nil
	}
	switch x := v.(type) {
	case nil:
		return nil, true, nil
	case []any:
		for _, e := range x {
			id, err := one(e)
			if err != nil {
				return nil, false, err
			}
			ids = append(ids, id)
		}
		return ids, true, nil
	}
	id, err := one(v)
	if err != nil {
		return nil, false, err
	}
	return []int{id}, true, nil
}

// Sampling gives the default decoding the files ask for, with transformers' meaning: unless
// do_sample is true, decoding is greedy whatever temperature says; top_k defaults to 50 and
// top_p to 1 when sampling.
func (c *Config) Sampling() Sampling {
	if c.DoSample == nil || !*c.DoSample {
		return Sampling{}
	}
	s := Sampling{Temperature: 1, TopK: 50, TopP: 1}
	if c.Temperature != nil {
		s.Temperature = *c.Temperature
	}
	if c.TopK != nil {
		s.TopK = *c.TopK
	}
	if c.TopP != nil {
		s.TopP = *c.TopP
	}
	return s
}

// EndOfTurnIDs are the ids that end an assistant turn, for inference (generation stops on
// them) and for training (the trained target ends with the last of them): config.json's
// eos_token_id, then generation_config.json's (gen, nil when the folder has none), then the
// id of eosToken (tokenizer_config.json's eos_token, as the loaded chat template holds it) under
// tok when both are given, without repeats. The sources disagree in real folders (a base
// model's generation config adds <|endoftext|>, a tokenizer names <|im_end|>), and a turn ended
// by any of them is ended.
func EndOfTurnIDs(configEOS []int, gen *Config, eosToken string, tok interface{ TokenToID(string) (int, bool) }) []int {
	out := slices.Clone(configEOS)
	add := func(id int) {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if gen != nil {
		for _, id := range gen.EOSTokenIDs {
			add(id)
		}
	}
	if eosToken != "" && tok != nil {
		if id, ok := tok.TokenToID(eosToken); ok {
			add(id)
		}
	}
	return out
}
