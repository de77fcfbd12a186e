// Package safefile reads the small files a model folder, a hub cache or a log folder holds
// (configs, tokenizers, refs) the one careful way: only regular files, never more than a size
// bound suited to the file, and never blocking on a FIFO or a device planted in their place.
// Errors quote at most a short excerpt of what was read, so a file pointing at a secret does
// not print it.
package safefile

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"unicode/utf8"
)

// Size bounds for the files infty reads whole. Each is far above what real models ship
// (Qwen's tokenizer.json is 11 MB, its index 30 KB, its configs a few KB) and far below what
// would hurt.
const (
	TokenizerLimit = 256 << 20 // tokenizer.json, also once decompressed
	ConfigLimit    = 4 << 20   // config.json, generation_config.json
	IndexLimit     = 64 << 20  // model.safetensors.index.json
	TemplateLimit  = 16 << 20  // tokenizer_config.json, chat_template.jinja, prompt files
	RefLimit       = 4 << 10   // the hub cache's refs/<revision>, token files
)

// Open opens path for reading and refuses anything but a regular file. It opens without
// blocking, so a FIFO in place of the file gives an error at once instead of a hang; symlinks
// are followed (a hub snapshot is made of them) and what they lead to is checked.
func Open(path string) (*os.File, os.FileInfo, error) {
	// Check before opening, so a device is not even opened; check again what was opened, in
	// case the path changed in between.
	if fi, err := os.Stat(path); err != nil {
		return nil, nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, nil, notRegular(path, fi)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err // *PathError already names the file
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = notRegular(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// ReadFile reads the regular file at path whole, refusing one larger than limit bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, fi, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > limit {
		return nil, tooLarge(path, limit)
	}
	// The size can change between the stat and the read: the bound holds on what is read.
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(path, limit)
	}
	return b, nil
}

// ReadAll reads r whole (a decompressed stream, say), refusing more than limit bytes; name is
// what the error calls it.
func ReadAll(r io.Reader, name string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(name, limit)
	}
	return b, nil
}

func notRegular(path string, fi os.FileInfo) error {
	return fmt.Errorf("%s: not a regular file (%s)", path, kind(fi.Mode()))
}

func tooLarge(name string, limit int64) error {
	return fmt.Errorf("%s: larger than %s, more than such a file ever holds", name, formatSize(limit))
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// ExcerptLen is how many bytes of bad content an error may quote.
const ExcerptLen = 40

// Excerpt quotes the start of b for an error message: at most ExcerptLen bytes, cut at a rune
// boundary, with "…" when there was more.
func Excerpt(b []byte) string {
	if len(b) <= ExcerptLen {
		return strconv.Quote(string(b))
	}
	n := ExcerptLen
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return strconv.Quote(string(b[:n])) + "…"
}
