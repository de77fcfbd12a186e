package tokenizer

import (
	"encoding/json"
	"errors"
)

// encoding/json spends most of a Qwen load (150k vocab entries, 150k merges) in reflection.
// These scanners read just the two big shapes, from bytes encoding/json has already checked to
// be valid JSON; any other shape (escapes aside, which they hand to encoding/json) makes them
// report !ok, and the caller falls back to encoding/json, so errors stay its errors.

type jscan struct {
	s   string // the raw JSON, as one string so that keys can share its memory
	pos int
}

var errShape = errors.New("unexpected shape")

func (p *jscan) ws() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jscan) eat(c byte) bool {
	p.ws()
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// str reads a JSON string; without escapes it is a substring of the input.
func (p *jscan) str() (string, error) {
	p.ws()
	if p.pos >= len(p.s) || p.s[p.pos] != '"' {
		return "", errShape
	}
	start := p.pos
	escaped := false
	for i := start + 1; i < len(p.s); i++ {
		switch p.s[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			p.pos = i + 1
			if !escaped {
				return p.s[start+1 : i], nil
			}
			var out string
			if err := json.Unmarshal([]byte(p.s[start:i+1]), &out); err != nil {
				return "", err
			}
			return out, nil
		}
	}
	return "", errShape
}

// int reads a non-negative integer written plainly.
func (p *jscan) int() (int, error) {
	p.ws()
	n, digits := 0, 0
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		n = n*10 + int(p.s[p.pos]-'0')
		p.pos++
		if digits++; digits > 10 {
			return 0, errShape
		}
	}
	if digits == 0 || (p.pos < len(p.s) && (p.s[p.pos] == '.' || p.s[p.pos] == 'e' || p.s[p.pos] == 'E')) {
		return 0, errShape
	}
	return n, nil
}

// scanVocab reads {"token": id, ...}.
func scanVocab(raw []byte) (map[string]int, bool) {
	p := &jscan{s: string(raw)}
	if !p.eat('{') {
		return nil, false
	}
	m := make(map[string]int, len(raw)/16)
	if p.eat('}') {
		return m, true
	}
	for {
		k, err := p.str()
		if err != nil || !p.eat(':') {
			return nil, false
		}
		v, err := p.int()
		if err != nil {
			return nil, false
		}
		m[k] = v
		if p.eat(',') {
			continue
		}
		return m, p.eat('}')
	}
}

// scanMerges reads ["a b", ...] or [["a","b"], ...].
func scanMerges(raw []byte) (pairs [][2]string, ok bool) {
	p := &jscan{s: string(raw)}
	if !p.eat('[') {
		return nil, false
	}
	if p.eat(']') {
		return nil, true
	}
	for {
		p.ws()
		if p.pos < len(p.s) && p.s[p.pos] == '[' {
			p.pos++
			a, err := p.str()
			if err != nil || !p.eat(',') {
				return nil, false
			}
			b, err := p.str()
			if err != nil || !p.eat(']') {
				return nil, false
			}
			pairs = append(pairs, [2]string{a, b})
		} else {
			s, err := p.str()
			if err != nil {
				return nil, false
			}
			a, b, ok := splitMergeString(s)
			if !ok {
				return nil, false // let the slow path name the bad entry
			}
			pairs = append(pairs, [2]string{a, b})
		}
		if p.eat(',') {
			continue
		}
		return pairs, p.eat(']')
	}
}
