// Package chattemplate renders a model's chat template — the Jinja `chat_template` of its
// tokenizer_config.json — the way transformers' apply_chat_template does, using the jinja
// package's interpreter with Hugging Face's settings (trim_blocks, lstrip_blocks).
package chattemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/infty-dev/infty/internal/safefile"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/jinja"
)

// ConfigFile is the file the template and the special-token strings come from.
const ConfigFile = "tokenizer_config.json"

// Template is a loaded chat template and the special-token strings it may use.
type Template struct {
	// BOS and EOS are the bos_token and eos_token strings of tokenizer_config.json ("" when
	// absent or null).
	BOS, EOS string
	// Special holds every special-token string the config names (bos_token, eos_token,
	// pad_token, unk_token, ...); they are passed to the template as variables.
	Special map[string]string
	// Additional is additional_special_tokens, passed as that variable (transformers passes its
	// whole special_tokens_map).
	Additional []string
	// Source is the template text.
	Source string

	path string
	tmpl *jinja.Template
}

// RenderOptions are the apply_chat_template arguments besides the messages.
type RenderOptions struct {
	AddGenerationPrompt bool
	// EnableThinking, when set, is passed as enable_thinking (Qwen3 templates).
	EnableThinking *bool
	// ContinueFinalMessage ends the text right after the last message's content instead of
	// closing that turn, so a model continues it — transformers' continue_final_message, used
	// to pre-fill an assistant turn (the InftyThink+ <history> block). It excludes
	// AddGenerationPrompt.
	ContinueFinalMessage bool
	// Vars are extra template variables (tools, documents, ...), converted with jinja.FromGo;
	// a *jinja.Dict value keeps its key order.
	Vars map[string]any
}

// Load reads the chat template of the tokenizer folder dir.
func Load(dir string) (*Template, error) {
	path := filepath.Join(dir, ConfigFile)
	data, err := safefile.ReadFile(path, safefile.TemplateLimit)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	return Parse(path, data, dir)
}

// Parse builds a Template from the bytes of a tokenizer_config.json read from path. When the
// config has no chat_template, a chat_template.jinja beside it (where newer transformers save
// it) is used if dir is not empty.
func Parse(path string, data []byte, dir string) (*Template, error) {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s: not valid JSON: %w", path, err)
	}
	special, err := specialTokens(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t := &Template{Special: special, path: path}
	if raw, ok := cfg["additional_special_tokens"]; ok {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("%s: additional_special_tokens: must be a list", path)
		}
		for i, r := range list {
			s, ok, err := tokenString(r)
			if err != nil || !ok {
				return nil, fmt.Errorf("%s: additional_special_tokens[%d]: not a token string or object", path, i)
			}
			t.Additional = append(t.Additional, s)
		}
	}
	t.BOS, t.EOS = t.Special["bos_token"], t.Special["eos_token"]

	src, name, err := templateSource(cfg["chat_template"])
	if err != nil {
		return nil, fmt.Errorf("%s: chat_template: %w", path, err)
	}
	if src == "" && dir != "" {
		jpath := filepath.Join(dir, "chat_template.jinja")
		b, err := safefile.ReadFile(jpath, safefile.TemplateLimit)
		if err == nil {
			src, name, path = string(b), "", jpath
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("chat template: %w", err)
		}
	}
	if src == "" {
		return nil, fmt.Errorf("%s: no chat_template", path)
	}
	label := path
	if name != "" {
		label += " (chat_template " + name + ")"
	} else if strings.HasSuffix(path, ".json") {
		label += " (chat_template)"
	}
	tmpl, err := jinja.Parse(label, src, jinja.HFOptions)
	if err != nil {
		return nil, err
	}
	t.Source, t.tmpl, t.path = src, tmpl, label
	return t, nil
}

// SpecialTokens reads the special-token strings (bos_token, eos_token, pad_token, ...) of
// dir/tokenizer_config.json, given as strings or AddedToken objects; null ones are left out.
// Unlike Load it does not need a chat template.
func SpecialTokens(dir string) (map[string]string, error) {
	path := filepath.Join(dir, ConfigFile)
	data, err := safefile.ReadFile(path, safefile.TemplateLimit)
	if err != nil {
		return nil, err
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s: not valid JSON: %w", path, err)
	}
	special, err := specialTokens(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return special, nil
}

func specialTokens(cfg map[string]json.RawMessage) (map[string]string, error) {
	special := map[string]string{}
	for key, raw := range cfg {
		if !strings.HasSuffix(key, "_token") {
			continue
		}
		s, ok, err := tokenString(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if ok {
			special[key] = s
		}
	}
	return special, nil
}

// tokenString reads a special token given as a string, null, or an AddedToken object.
func tokenString(raw json.RawMessage) (string, bool, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, err
	}
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return x, true, nil
	case map[string]any:
		s, ok := x["content"].(string)
		if !ok {
			return "", false, errors.New("token object has no string \"content\"")
		}
		return s, true, nil
	case []any, bool, float64: // lists (additional_special_tokens) and flags (add_bos_token)
		return "", false, nil
	}
	return "", false, fmt.Errorf("expected a string or a token object, got %T", v)
}

// templateSource accepts the string form and the list-of-named-templates form, picking the
// one named "default" (as transformers does when no name is asked for).
func templateSource(raw json.RawMessage) (src, name string, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", "", nil
	}
	if err := json.Unmarshal(raw, &src); err == nil {
		return src, "", nil
	}
	var list []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", "", errors.New("must be a string or a list of {name, template}")
	}
	for _, e := range list {
		if e.Name == "default" {
			return e.Template, e.Name, nil
		}
	}
	if len(list) == 1 {
		return list[0].Template, list[0].Name, nil
	}
	return "", "", errors.New("no template named \"default\"")
}

// Render applies the template to messages of the model contract. Turns with more than a role and
// content (reasoning_content, tool calls) reach a template through RenderVars.
func (t *Template) Render(messages []llm.Message, opts RenderOptions) (string, error) {
	vals := make([]any, len(messages))
	for i, m := range messages {
		d := jinja.NewDict()
		d.Set("role", m.Role)
		d.Set("content", m.Content)
		vals[i] = d
	}
	vars := jinja.NewDict()
	for k, v := range opts.Vars {
		vars.Set(k, jinja.FromGo(v))
	}
	vars.Set("messages", vals)
	vars.Set("add_generation_prompt", opts.AddGenerationPrompt)
	if opts.EnableThinking != nil {
		vars.Set("enable_thinking", *opts.EnableThinking)
	}
	if !opts.ContinueFinalMessage {
		return t.RenderVars(vars)
	}
	if opts.AddGenerationPrompt {
		return "", errors.New("chat template: continue_final_message and add_generation_prompt exclude each other")
	}
	if len(messages) == 0 {
		return "", errors.New("chat template: continue_final_message needs a message to continue")
	}
	out, err := t.RenderVars(vars)
	if err != nil {
		return "", err
	}
	return ContinueFinal(out, messages[len(messages)-1].Content)
}

// ContinueFinal cuts a rendering just after the last occurrence of the final message's
// content (or, as transformers falls back to, of that content stripped of surrounding
// whitespace), dropping the end-of-turn text the template put after it.
func ContinueFinal(rendered, final string) (string, error) {
	if i := strings.LastIndex(rendered, final); i >= 0 && final != "" {
		return rendered[:i+len(final)], nil
	}
	if f := strings.TrimSpace(final); f != "" {
		if i := strings.LastIndex(rendered, f); i >= 0 {
			return rendered[:i+len(f)], nil
		}
	}
	return "", errors.New("chat template: continue_final_message: the final message's content does not appear in the rendered text")
}

// RenderVars renders with template variables given directly (messages, add_generation_prompt
// and any extras, as engine values — for example from jinja.DecodeJSON). Like transformers it
// also defines the special-token strings, tools and documents (None unless given), and
// add_generation_prompt (false unless given).
func (t *Template) RenderVars(vars *jinja.Dict) (string, error) {
	all := jinja.NewDict()
	for k, v := range t.Special {
		all.Set(k, v)
	}
	all.Set("bos_token", t.BOS)
	all.Set("eos_token", t.EOS)
	if len(t.Additional) > 0 {
		all.Set("additional_special_tokens", jinja.FromGo(t.Additional))
	}
	all.Set("tools", nil)
	all.Set("documents", nil)
	all.Set("add_generation_prompt", false)
	for _, k := range vars.Keys() {
		v, _ := vars.Get(k)
		all.Set(k, v)
	}
	if _, ok := all.Get("messages"); !ok {
		return "", fmt.Errorf("%s: no messages to render", t.path)
	}
	return t.tmpl.RenderDict(all)
}

// Name is the file (and template name) errors refer to.
func (t *Template) Name() string { return t.path }
