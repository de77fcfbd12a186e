package tokenizer

import "unicode/utf8"

// Byte-level tokens can split a character anywhere, so decoded bytes need not be valid UTF-8.
// Invalid bytes become U+FFFD following the WHATWG "maximal subpart" rule, which is what the
// reference decoders do (Rust's String::from_utf8_lossy, JavaScript's TextDecoder); Go's own
// strings.ToValidUTF8 collapses whole runs instead and would disagree with them.

const replacement = "\uFFFD"

// seqLen reports, for a lead byte, the sequence length and the allowed range of the second byte;
// n == 0 marks a byte that cannot start a sequence.
func seqLen(b byte) (n int, lo, hi byte) {
	switch {
	case b < 0x80:
		return 1, 0, 0
	case b >= 0xC2 && b <= 0xDF:
		return 2, 0x80, 0xBF
	case b == 0xE0:
		return 3, 0xA0, 0xBF
	case b == 0xED:
		return 3, 0x80, 0x9F
	case b >= 0xE1 && b <= 0xEF:
		return 3, 0x80, 0xBF
	case b == 0xF0:
		return 4, 0x90, 0xBF
	case b >= 0xF1 && b <= 0xF3:
		return 4, 0x80, 0xBF
	case b == 0xF4:
		return 4, 0x80, 0x8F
	}
	return 0, 0, 0
}

// appendLossy appends the UTF-8 text of src to dst, replacing each maximal invalid subpart with
// U+FFFD. Unless final, an incomplete but so far valid sequence at the end of src is left
// unconsumed; consumed says how many bytes of src were used.
func appendLossy(dst, src []byte, final bool) (out []byte, consumed int) {
	i := 0
	for i < len(src) {
		b := src[i]
		if b < utf8.RuneSelf {
			dst = append(dst, b)
			i++
			continue
		}
		n, lo, hi := seqLen(b)
		if n == 0 {
			dst = append(dst, replacement...)
			i++
			continue
		}
		j := i + 1
		ok := true
		for k := 1; k < n; k++ {
			if j >= len(src) {
				if !final {
					return dst, i
				}
				ok = false
				break
			}
			c := src[j]
			if k > 1 {
				lo, hi = 0x80, 0xBF
			}
			if c < lo || c > hi {
				ok = false
				break
			}
			j++
		}
		if ok {
			dst = append(dst, src[i:j]...)
		} else {
			dst = append(dst, replacement...)
		}
		i = j
	}
	return dst, i
}

// lossyString is appendLossy over all of src, returning a string.
func lossyString(src []byte) string {
	if utf8.Valid(src) {
		return string(src)
	}
	out, _ := appendLossy(make([]byte, 0, len(src)+8), src, true)
	return string(out)
}

// validString returns s with invalid UTF-8 replaced as lossyString would.
func validString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out, _ := appendLossy(make([]byte, 0, len(s)+8), []byte(s), true)
	return string(out)
}
