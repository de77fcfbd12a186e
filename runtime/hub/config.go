// Package hub fetches models from the Hugging Face hub into the same cache that Python's
// huggingface_hub uses, so a model pulled by either is found by both, and resolves the names
// users give to --model (a repo id, a local folder, or a cache path) to a model folder.
//
// Cache layout (under HF_HUB_CACHE, default $HF_HOME/hub, default ~/.cache/huggingface/hub):
//
//	models--ORG--NAME/blobs/<etag>                     file contents, named by normalized ETag
//	models--ORG--NAME/blobs/<etag>.incomplete          a download in progress (resumable)
//	models--ORG--NAME/snapshots/<commit>/<file>        relative symlink ../../blobs/<etag>
//	models--ORG--NAME/refs/<revision>                  the commit a branch or tag pointed to
//	.locks/models--ORG--NAME/<etag>.lock               flock(2) held while a blob is written
package hub

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/infty-dev/infty/internal/safefile"
)

// DefaultEndpoint is the public hub; HF_ENDPOINT replaces it.
const DefaultEndpoint = "https://huggingface.co"

// Config is where the cache lives and how to reach the hub. ConfigFromEnv reads it the way
// huggingface_hub does; tests build one by hand.
type Config struct {
	CacheDir string // the hub cache (HF_HUB_CACHE)
	Endpoint string // base URL without trailing slash (HF_ENDPOINT)
	Token    string // sent as "Authorization: Bearer" to the endpoint only, never to a CDN
	Offline  bool   // HF_HUB_OFFLINE: never touch the network
	// StallTimeout is how long a request may go without an answer or a byte
	// (INFTY_HUB_STALL_TIMEOUT); 0 means DefaultStallTimeout.
	StallTimeout time.Duration
}

// StallTimeoutEnv names the variable that sets Config.StallTimeout.
const StallTimeoutEnv = "INFTY_HUB_STALL_TIMEOUT"

// ParseStallTimeout reads a stall timeout given as a Go duration ("90s", "2m") or a number of
// seconds; it must be positive.
func ParseStallTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, err2 := strconv.ParseFloat(s, 64)
		if err2 != nil || secs > 1e9 {
			return 0, fmt.Errorf("stall timeout %q: want a duration such as 90s or 2m, or a number of seconds", s)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return 0, fmt.Errorf("stall timeout %q must be positive", s)
	}
	return d, nil
}

// ConfigFromEnv mirrors huggingface_hub's constants: HF_HOME (default $XDG_CACHE_HOME/huggingface
// or ~/.cache/huggingface), HF_HUB_CACHE (legacy HUGGINGFACE_HUB_CACHE; default $HF_HOME/hub),
// HF_ENDPOINT, HF_TOKEN (legacy HUGGING_FACE_HUB_TOKEN; else the file HF_TOKEN_PATH, default
// $HF_HOME/token), HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) true for 1/ON/YES/TRUE; and infty's
// own INFTY_HUB_STALL_TIMEOUT.
func ConfigFromEnv() Config {
	home := os.Getenv("HF_HOME")
	if home == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			base = filepath.Join(userHome(), ".cache")
		}
		home = filepath.Join(base, "huggingface")
	}
	home = expandHome(home)
	cache := firstNonEmpty(os.Getenv("HF_HUB_CACHE"), os.Getenv("HUGGINGFACE_HUB_CACHE"))
	if cache == "" {
		cache = filepath.Join(home, "hub")
	}
	endpoint := strings.TrimRight(firstNonEmpty(os.Getenv("HF_ENDPOINT"), DefaultEndpoint), "/")
	token := strings.TrimSpace(firstNonEmpty(os.Getenv("HF_TOKEN"), os.Getenv("HUGGING_FACE_HUB_TOKEN")))
	if token == "" {
		path := firstNonEmpty(os.Getenv("HF_TOKEN_PATH"), filepath.Join(home, "token"))
		if b, err := safefile.ReadFile(expandHome(path), safefile.RefLimit); err == nil {
			token = strings.TrimSpace(string(b))
		}
	}
	// An unreadable value leaves the default; `infty pull` reports it (see ParseStallTimeout).
	stall, _ := ParseStallTimeout(os.Getenv(StallTimeoutEnv))
	return Config{
		StallTimeout: stall,
		CacheDir:     expandHome(cache),
		Endpoint:     endpoint,
		Token:        token,
		Offline:      isTrue(os.Getenv("HF_HUB_OFFLINE")) || isTrue(os.Getenv("TRANSFORMERS_OFFLINE")),
	}
}

func isTrue(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func userHome() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}

func expandHome(p string) string {
	if p == "~" {
		return userHome()
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(userHome(), p[2:])
	}
	return p
}
