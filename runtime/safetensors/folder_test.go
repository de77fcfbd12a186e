package safetensors

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const fixtures = "../../testdata/models"

// The BF16 fixtures are the F32 fixtures rounded to BF16 and split in two
// shards; both load, and every value agrees after rounding.
func TestFixturesF32AgainstBF16Shards(t *testing.T) {
	for _, model := range []string{"qwen2-tiny", "qwen3-tiny"} {
		t.Run(model, func(t *testing.T) {
			f32, err := OpenFolder(filepath.Join(fixtures, model+"-f32"))
			if err != nil {
				t.Fatal(err)
			}
			defer f32.Close()
			bf16, err := OpenFolder(filepath.Join(fixtures, model+"-bf16"))
			if err != nil {
				t.Fatal(err)
			}
			defer bf16.Close()
			if len(f32.Files()) != 1 || len(bf16.Files()) != 2 {
				t.Fatalf("files: f32 %d, bf16 %d", len(f32.Files()), len(bf16.Files()))
			}
			if !reflect.DeepEqual(f32.Names(), bf16.Names()) {
				t.Fatalf("tensor names differ:\n%v\n%v", f32.Names(), bf16.Names())
			}
			if len(f32.Names()) < 10 {
				t.Fatalf("only %d tensors", len(f32.Names()))
			}
			if _, ok := f32.Get("model.embed_tokens.weight"); !ok {
				t.Fatal("embed_tokens missing")
			}
			for _, name := range f32.Names() {
				a, _ := f32.Get(name)
				b, _ := bf16.Get(name)
				if a.DType != "F32" || b.DType != "BF16" || !reflect.DeepEqual(a.Shape, b.Shape) {
					t.Fatalf("%s: %s %v vs %s %v", name, a.DType, a.Shape, b.DType, b.Shape)
				}
				av, err := a.Float32()
				if err != nil {
					t.Fatal(err)
				}
				bv, err := b.Float32()
				if err != nil {
					t.Fatal(err)
				}
				nonzero := 0
				for i := range av {
					if av[i] != 0 {
						nonzero++
					}
					if want := BF16ToFloat32(Float32ToBF16(av[i])); bv[i] != want {
						t.Fatalf("%s[%d]: bf16 %v, f32 %v rounds to %v", name, i, bv[i], av[i], want)
					}
				}
				if nonzero == 0 && !strings.Contains(name, "bias") {
					t.Errorf("%s: all zeros", name)
				}
			}
		})
	}
}

// shardedFolder writes a two-shard model and its index into a temp folder.
func shardedFolder(t *testing.T, index string) string {
	t.Helper()
	dir := t.TempDir()
	w := func(name string, ts ...WriteTensor) {
		if err := Write(filepath.Join(dir, name), ts, nil); err != nil {
			t.Fatal(err)
		}
	}
	w("s1.safetensors", WriteTensor{Name: "a", DType: "U8", Shape: []int{1}, Data: []byte{1}})
	w("s2.safetensors", WriteTensor{Name: "b", DType: "U8", Shape: []int{1}, Data: []byte{2}},
		WriteTensor{Name: "c", DType: "U8", Shape: []int{1}, Data: []byte{3}})
	if err := os.WriteFile(filepath.Join(dir, IndexFileName), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenFolderIndexed(t *testing.T) {
	dir := shardedFolder(t, `{"metadata":{},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s2.safetensors"}}`)
	s, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !reflect.DeepEqual(s.Names(), []string{"a", "b", "c"}) {
		t.Errorf("names %v", s.Names())
	}
	c, ok := s.Get("c")
	if !ok || c.Data[0] != 3 || c.File != filepath.Join(dir, "s2.safetensors") {
		t.Errorf("c = %+v", c)
	}
	if _, ok := s.Get("zz"); ok {
		t.Error("Get of an absent tensor succeeded")
	}
}

func TestOpenFolderErrors(t *testing.T) {
	cases := []struct {
		name, index string
		want        []string
	}{
		{"missing shard", `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s3.safetensors"}}`, []string{IndexFileName, "s3.safetensors", "does not exist"}},
		{"missing tensor", `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s2.safetensors","d":"s1.safetensors"}}`, []string{IndexFileName, `tensor "d"`, "s1.safetensors", "does not hold it"}},
		{"unlisted tensor", `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}`, []string{"s2.safetensors", `tensor "c"`, "not in"}},
		{"wrong shard", `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s1.safetensors"}}`, []string{"s2.safetensors", `tensor "c"`, "places it in s1.safetensors"}},
		{"listed twice", `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s2.safetensors","c":"s1.safetensors"}}`, []string{IndexFileName, `"c" appears twice`}},
		{"path escape", `{"weight_map":{"a":"../s1.safetensors"}}`, []string{IndexFileName, "not a file name"}},
		{"no weight_map", `{"metadata":{}}`, []string{IndexFileName, "weight_map"}},
		{"not json", `{"weight_map":`, []string{IndexFileName, "not valid JSON"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := shardedFolder(t, c.index)
			s, err := OpenFolder(dir)
			if err == nil {
				s.Close()
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	empty := t.TempDir()
	if _, err := OpenFolder(empty); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty folder error = %v", err)
	}
}

// A corrupt shard is reported by its own name.
func TestOpenFolderCorruptShard(t *testing.T) {
	dir := shardedFolder(t, `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s2.safetensors"}}`)
	p := filepath.Join(dir, "s2.safetensors")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-1], 0o644)
	_, err := OpenFolder(dir)
	if err == nil || !strings.HasPrefix(err.Error(), p+": ") {
		t.Errorf("error = %v, want it to start with %s", err, p)
	}
}
