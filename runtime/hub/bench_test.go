package hub

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/infty-dev/infty/runtime/hub/hubtest"
)

const benchSize = 64 << 20

func benchHub(b *testing.B) (*hubtest.Hub, *hubtest.Repo) {
	h := hubtest.New(b)
	weights := make([]byte, benchSize)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+8 <= len(weights); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			weights[i+j] = byte(v >> (8 * j))
		}
	}
	files := map[string][]byte{
		"config.json":       []byte(`{"hidden_size": 8}`),
		"tokenizer.json":    []byte(`{}`),
		"model.safetensors": weights,
	}
	return h, h.AddRepo("acme/big", files)
}

// BenchmarkPull is a full pull of a 64 MiB model (listing, HEADs, CDN redirect, write through
// .incomplete, sha256 verification, rename, symlinks) into a fresh cache. Compare its MB/s with
// BenchmarkRawGet, a bare GET of the same bytes to a file over the same loopback.
func BenchmarkPull(b *testing.B) {
	h, _ := benchHub(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		cache := b.TempDir()
		c := NewClient(Config{CacheDir: cache, Endpoint: h.URL()})
		if _, err := c.Pull(context.Background(), "acme/big", "main"); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(cache)
	}
}

func BenchmarkRawGet(b *testing.B) {
	h, r := benchHub(b)
	c := NewClient(Config{CacheDir: b.TempDir(), Endpoint: h.URL()})
	m, err := c.headFile(context.Background(), "acme/big", "main", "model.safetensors")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	for b.Loop() {
		resp, err := http.Get(m.Location)
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(filepath.Join(b.TempDir(), "blob"))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(f, resp.Body)
		resp.Body.Close()
		f.Close()
		if err != nil || n != int64(len(r.Files["model.safetensors"])) {
			b.Fatal(n, err)
		}
	}
	_ = bytes.MinRead
}
