package arch_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infty-dev/infty/runtime/arch"
)

// Nonsensical values in config.json are refused, naming the file and the field, before
// anything is sized from them: a layer count that would wrap int64 in a product, a negative
// context, an epsilon that divides by zero.
func TestReadRefusesNonsensicalConfig(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("..", "..", "testdata", "models", "qwen2-tiny-f32", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		field string
		value any
		want  string
	}{
		{"num_hidden_layers", int64(300000000000000000), "num_hidden_layers"},
		{"vocab_size", int64(1) << 40, "vocab_size"},
		{"hidden_size", -64, "hidden_size"},
		{"head_dim", 1 << 20, "head_dim"},
		{"max_position_embeddings", -1, "max_position_embeddings"},
		{"rms_norm_eps", -1e-6, "rms_norm_eps"},
		{"rms_norm_eps", 0, "rms_norm_eps"},
		{"rms_norm_eps", 2, "rms_norm_eps"},
		{"rope_theta", -10000, "rope_theta"},
	} {
		var m map[string]any
		json.Unmarshal(base, &m)
		m[c.field] = c.value
		b, _ := json.Marshal(m)
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
		_, _, err := arch.Read(dir)
		if err == nil || !strings.Contains(err.Error(), "config.json") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%v: err = %v, want one naming config.json and %s", c.field, c.value, err, c.want)
		}
	}
}
