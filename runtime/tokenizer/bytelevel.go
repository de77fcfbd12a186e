package tokenizer

// The GPT-2 byte-to-unicode map: byte-level BPE vocabularies spell every byte as a printable
// rune so that merges and vocab entries are ordinary strings. Printable Latin-1 bytes stand for
// themselves; the other 68 bytes are shifted to U+0100 and up, in byte order.
var (
	byteToRune [256]rune
	runeToByte = map[rune]byte{}
)

func init() {
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = 256 + n
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// byteLevelString spells raw bytes in the byte-level alphabet (as vocab entries are written).
func byteLevelString(raw string) string {
	out := make([]rune, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		out = append(out, byteToRune[raw[i]])
	}
	return string(out)
}

// tokenRawBytes turns a vocab entry back into the bytes it stands for. Like the Hugging Face
// ByteLevel decoder, an entry with a rune outside the byte alphabet is taken as its own UTF-8.
func tokenRawBytes(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		b, ok := runeToByte[r]
		if !ok {
			return []byte(tok)
		}
		out = append(out, b)
	}
	return out
}
