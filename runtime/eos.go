package runtime

import (
	"fmt"
	"path/filepath"
)

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
