package train

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/infty-dev/infty/runtime/arch"
	"github.com/infty-dev/infty/runtime/safetensors"
)

// tokenizerFiles are copied from the tokenizer folder into every checkpoint when present.
var tokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"vocab.json", "merges.txt", "generation_config.json", "chat_template.jinja"}

func writeSafetensors(path string, ts []safetensors.WriteTensor) error {
	return safetensors.Write(path, ts, map[string]string{"format": "pt"})
}

// WriteModel writes a Hugging Face model folder: config.json (torch_dtype set to dtype),
// model.safetensors and the tokenizer files of model.TokenizerDir.
func WriteModel(dir string, model *Model, p *Params, dtype string) error {
	var cfg map[string]any
	if err := json.Unmarshal(model.RawConfig, &cfg); err != nil {
		return fmt.Errorf("train: config.json: %w", err)
	}
	cfg["torch_dtype"] = map[string]string{"F32": "float32", "BF16": "bfloat16"}[dtype]
	b, err := marshalIndent(cfg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		return err
	}
	ts, err := writeTensors("", p.Specs, p.Data, dtype)
	if err != nil {
		return err
	}
	if err := writeSafetensors(filepath.Join(dir, "model.safetensors"), ts); err != nil {
		return err
	}
	for _, name := range tokenizerFiles {
		if err := copyFile(filepath.Join(model.TokenizerDir, name), filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		return fmt.Errorf("train: no tokenizer.json in %s", model.TokenizerDir)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// LoadModel reads a model folder to fine-tune: config.json, its weights and its tokenizer.
func LoadModel(dir string) (*Model, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	cfg, def, err := arch.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	p, err := LoadParams(dir, def.Specs())
	if err != nil {
		return nil, err
	}
	return &Model{Config: cfg, Arch: def, RawConfig: raw, Params: p, TokenizerDir: dir}, nil
}

// InitModel makes a randomly initialised model from a config.json file and a tokenizer folder.
// Weights are drawn with the config's initializer_range as standard deviation (0.02, the
// transformers default, when absent); a tiny model learns much faster with a larger one, about
// 1/sqrt(hidden_size), because attention starts far from uniform.
func InitModel(configPath, tokenizerDir string, seed uint64) (*Model, error) {
	raw, err := os.ReadFile(configPath)
	if err != nil {
		return nil, err
	}
	cfg, def, err := arch.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", configPath, err)
	}
	if _, err := os.Stat(filepath.Join(tokenizerDir, "tokenizer.json")); err != nil {
		return nil, fmt.Errorf("train: tokenizer folder: %w", err)
	}
	var extra struct {
		InitializerRange *float64 `json:"initializer_range"`
	}
	_ = json.Unmarshal(raw, &extra) // already parsed above; only the optional field is read here
	std := 0.02
	if r := extra.InitializerRange; r != nil {
		if *r <= 0 || *r > 1 {
			return nil, fmt.Errorf("%s: initializer_range %g out of range (0, 1]", configPath, *r)
		}
		std = *r
	}
	return &Model{Config: cfg, Arch: def, RawConfig: raw, Params: InitParams(def.Specs(), seed, std), TokenizerDir: tokenizerDir}, nil
}

// LatestCheckpoint returns the complete checkpoint with the most updates under out, or "" when
// there is none.
func LatestCheckpoint(out string) (string, error) {
	entries, err := os.ReadDir(out)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "checkpoint-") {
			if _, err := os.Stat(filepath.Join(out, e.Name(), stateFile)); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	sort.Strings(names)
	return filepath.Join(out, names[len(names)-1]), nil
}

// Resume loads the weights, optimizer moments and step of a checkpoint written by Save. The
// checkpoint must come from a run with the same data, seed, batch size and learning rates; the
// total number of steps may be larger than the checkpoint's run had (training on), and then
// the cosine decays over the new total from the resumed step on.
func (t *Trainer) Resume(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	if st.DataHash != t.dataHash {
		return fmt.Errorf("train: %s was trained on other data (hash %s, now %s); use a fresh output folder", dir, st.DataHash, t.dataHash)
	}
	if st.StartHash != "" && st.StartHash != t.startHash {
		return fmt.Errorf("train: %s was started from other weights (hash %s, now %s): give the model it started from, or use a fresh output folder",
			dir, st.StartHash, t.startHash)
	}
	o := t.opt
	so := st.Options
	if so.Seed != o.Seed || so.BatchSize != o.BatchSize || so.Warmup != o.Warmup || so.LR != o.LR || so.MinLR != o.MinLR || so.MaxLen != o.MaxLen {
		return fmt.Errorf("train: %s was written with other options (seed, batch size, warmup, learning rates or max length differ); use the same ones or a fresh output folder", dir)
	}
	// Steps may grow: the run goes on, its cosine stretched to the new total from here on.
	if o.Steps < st.Step {
		return fmt.Errorf("train: %s is already at step %d, past --steps %d", dir, st.Step, o.Steps)
	}
	f, err := safetensors.Open(filepath.Join(dir, optimizerFile))
	if err != nil {
		return err
	}
	defer f.Close()
	byName := map[string]safetensors.Tensor{}
	for _, x := range f.Tensors() {
		byName[x.Name] = x
	}
	load := func(prefix string) ([]*tensors.Tensor, error) {
		out := make([]*tensors.Tensor, len(t.model.Params.Specs))
		for i, s := range t.model.Params.Specs {
			x, ok := byName[prefix+s.Name]
			if !ok || !sameShape(x.Shape, s.Shape) {
				return nil, fmt.Errorf("%s: tensor %q missing or misshapen", filepath.Join(dir, optimizerFile), prefix+s.Name)
			}
			d, err := x.Float32()
			if err != nil {
				return nil, err
			}
			out[i] = tensors.FromFlatDataAndDimensions(d, s.Shape...)
		}
		return out, nil
	}
	if t.params, err = load("param."); err != nil {
		return err
	}
	if t.m1, err = load("m1."); err != nil {
		return err
	}
	if t.m2, err = load("m2."); err != nil {
		return err
	}
	t.step = st.Step
	return nil
}

// Export writes the current weights as a plain model folder (no optimizer state) in dtype.
func (t *Trainer) Export(dir, dtype string) error {
	p, err := t.Params()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return WriteModel(dir, t.model, p, dtype)
}
