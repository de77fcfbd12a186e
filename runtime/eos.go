package runtime

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/infty-dev/infty/runtime/chattemplate"
	"github.com/infty-dev/infty/runtime/genconfig"
	"github.com/infty-dev/infty/runtime/tokenizer"
)

// EndOfTurnIDs are the ids that end an assistant turn, for inference (generation stops on
// them) and for training (the trained target ends with the last of them): config.json's
// eos_token_id, then generation_config.json's (gen, nil when the folder has none), then the
// id of tokenizer_config.json's eos_token in dir when tok is given, without repeats. The
// sources disagree in real folders (a base model's generation config adds <|endoftext|>, a
// tokenizer names <|im_end|>), and a turn ended by any of them is ended.
func EndOfTurnIDs(dir string, configEOS []int, gen *genconfig.Config, tok *tokenizer.Tokenizer) []int {
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
	if tok != nil {
		if special, err := chattemplate.SpecialTokens(dir); err == nil {
			if id, ok := tok.TokenToID(special["eos_token"]); ok {
				add(id)
			}
		}
	}
	return out
}

// setEOS installs the end-of-turn ids after checking that each is a token of the model.
func (m *Model) setEOS(ids []int) error {
	for _, id := range ids {
		if id < 0 || id >= m.Config.Vocab {
			return fmt.Errorf("%s: eos_token_id %d outside the vocabulary [0,%d)", filepath.Join(m.Dir, "config.json"), id, m.Config.Vocab)
		}
	}
	m.EOS = ids
	return nil
}
