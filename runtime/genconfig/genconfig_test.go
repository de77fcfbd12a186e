package genconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func folder(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestQwen3Style(t *testing.T) {
	dir := folder(t, map[string]string{
		ModelFile:      `{"bos_token_id": 151643, "eos_token_id": 151645, "hidden_size": 8}`,
		GenerationFile: `{"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "pad_token_id": 151643, "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"}`,
	})
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.EOSTokenIDs, []int{151645, 151643}) || *c.BOSTokenID != 151643 || *c.PadTokenID != 151643 {
		t.Errorf("ids: %+v", c)
	}
	if got, want := c.Sampling(), (Sampling{Temperature: 0.6, TopK: 20, TopP: 0.95}); got != want {
		t.Errorf("sampling %+v, want %+v", got, want)
	}
	if len(c.Sources) != 2 {
		t.Errorf("sources %v", c.Sources)
	}
}

func TestFallbackToModelConfig(t *testing.T) {
	c, err := Load(folder(t, map[string]string{ModelFile: `{"bos_token_id": null, "eos_token_id": 505}`}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.EOSTokenIDs, []int{505}) || c.BOSTokenID != nil {
		t.Errorf("%+v", c)
	}
	if s := c.Sampling(); s != (Sampling{}) {
		t.Errorf("no do_sample means greedy, got %+v", s)
	}
	// The fixture models: config.json only, no generation_config.json.
	c, err = Load("../../testdata/models/qwen3-tiny-f32")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.EOSTokenIDs, []int{505}) {
		t.Errorf("fixture EOS %v", c.EOSTokenIDs)
	}
}

func TestEmptyFolderIsFine(t *testing.T) {
	c, err := Load(t.TempDir())
	if err != nil || len(c.EOSTokenIDs) != 0 || len(c.Sources) != 0 {
		t.Errorf("%+v %v", c, err)
	}
}

func TestGreedyUnlessDoSample(t *testing.T) {
	for content, want := range map[string]Sampling{
		`{"temperature": 0.7}`:                     {},
		`{"do_sample": false, "temperature": 0.7}`: {},
		`{"do_sample": true}`:                      {Temperature: 1, TopK: 50, TopP: 1},
		`{"do_sample": true, "top_k": 0}`:          {Temperature: 1, TopK: 0, TopP: 1},
	} {
		c, err := Load(folder(t, map[string]string{GenerationFile: content}))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Sampling(); got != want {
			t.Errorf("%s: %+v, want %+v", content, got, want)
		}
	}
}

func TestBrokenFilesNameTheFile(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"truncated gen":   {GenerationFile: `{"eos_token_id": [1,`},
		"string id":       {GenerationFile: `{"eos_token_id": "x"}`},
		"float id":        {GenerationFile: `{"eos_token_id": [1.5]}`},
		"negative id":     {GenerationFile: `{"bos_token_id": -1}`},
		"bad temperature": {GenerationFile: `{"temperature": -1}`},
		"bad top_p":       {GenerationFile: `{"top_p": 1.5}`},
		"bad top_k type":  {GenerationFile: `{"top_k": "many"}`},
		"bad config":      {ModelFile: `not json`},
		"bad config id":   {ModelFile: `{"eos_token_id": {"a": 1}}`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(folder(t, files))
			if err == nil {
				t.Fatal("expected an error")
			}
			for f := range files {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error does not name %s: %v", f, err)
				}
			}
		})
	}
}
