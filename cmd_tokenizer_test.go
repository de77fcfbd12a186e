package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func runTokenize(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newTokenizeCmd()
	var out bytes.Buffer
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestTokenizeCommandRoundTrip(t *testing.T) {
	dir := "testdata/tokenizers/qwen3" // only tokenizer.json.gz is there
	in := `{"text":"<|im_start|>user\nhi<|im_end|>","x":{"keep": [1, 2]}}` + "\n\n" +
		`{"id":7,"text":"Hello, my dog is cute"}` + "\n"
	out, err := runTokenize(t, in, "--tokenizer", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"text":"<|im_start|>user\nhi<|im_end|>","x":{"keep":[1,2]},"ids":[151644,872,198,6023,151645]}` + "\n" +
		`{"id":7,"text":"Hello, my dog is cute","ids":[9707,11,847,5562,374,18838]}` + "\n"
	if out != want {
		t.Fatalf("encode output:\n%s\nwant:\n%s", out, want)
	}
	dec, err := runTokenize(t, `{"ids":[151644,872,198,6023,151645],"n":1}`+"\n", "--tokenizer", dir, "--decode")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(dec), &got); err != nil {
		t.Fatal(err)
	}
	if got["text"] != "<|im_start|>user\nhi<|im_end|>" || got["n"] != 1.0 {
		t.Fatalf("decode output %s", dec)
	}
}

func TestTokenizeCommandErrors(t *testing.T) {
	dir := "testdata/models/qwen3-tiny-f32"
	for _, tc := range []struct {
		name, in string
		args     []string
		want     string
	}{
		{"not json", "{\"text\":\"a\"}\n\nnope\n", nil, "stdin:3: not valid JSON"},
		{"text not string", `{"text":3}`, nil, `stdin:1: "text" is not a string`},
		{"no text", `{"txt":"a"}`, nil, `stdin:1: no "text" field`},
		{"not object", `["a"]`, nil, "stdin:1: not a JSON object"},
		{"bad id", `{"ids":[1,2,512]}`, []string{"--decode"}, `stdin:1: "ids"[2] = 512 is not a token id`},
		{"fractional id", `{"ids":[1.5]}`, []string{"--decode"}, `stdin:1: "ids"[0] = 1.5 is not an integer`},
		{"ids not array", `{"ids":"1 2"}`, []string{"--decode"}, `stdin:1: "ids" is not an array`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runTokenize(t, tc.in, append([]string{"--tokenizer", dir}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	_, err := runTokenize(t, "", "--tokenizer", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Fatalf("missing tokenizer.json: error %v should name the file", err)
	}
}
