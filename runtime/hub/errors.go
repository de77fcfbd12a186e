package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Sentinel errors; the errors returned wrap one of them (test with errors.Is) and carry a
// message that says what is missing and what to do.
var (
	ErrOffline          = errors.New("offline (HF_HUB_OFFLINE=1)")
	ErrNotCached        = errors.New("model not in the cache")
	ErrRepoNotFound     = errors.New("repository not found")
	ErrRevisionNotFound = errors.New("revision not found")
	ErrEntryNotFound    = errors.New("file not found in repository")
	ErrGated            = errors.New("gated repository")
	ErrUnauthorized     = errors.New("unauthorized")
	ErrCorrupt          = errors.New("download failed verification")
)

// HTTPError is an unexpected answer from the hub or a CDN.
type HTTPError struct {
	Method, URL string
	Status      int
	Code        string // X-Error-Code
	Message     string // X-Error-Message or the JSON "error" field
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s %s: %s", e.Method, e.URL, http.StatusText(e.Status))
	if e.Status != 0 {
		s = fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// temporary reports whether trying again may help (rate limits and server-side failures).
func (e *HTTPError) temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// what a failed request was for, so a 404 can be told apart.
type target struct {
	repo, rev, file string // file empty: the revision listing
}

// hubError turns a non-success response into an error that names the repo, revision or file and
// says what to do. It reads (a bounded part of) the body for the hub's error message.
func (c *Client) hubError(resp *http.Response, t target) error {
	he := &HTTPError{Method: resp.Request.Method, URL: resp.Request.URL.String(), Status: resp.StatusCode,
		Code: resp.Header.Get("X-Error-Code"), Message: resp.Header.Get("X-Error-Message")}
	if he.Message == "" && resp.Request.Method != http.MethodHead {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var j struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &j) == nil {
			he.Message = j.Error
		}
	}
	tokenSent := resp.Request.Header.Get("Authorization") != ""
	page := c.cfg.Endpoint + "/" + t.repo
	switch {
	case he.Code == "GatedRepo":
		if tokenSent {
			return fmt.Errorf("%w: %s is gated and your token has no access; accept its terms at %s (%v)", ErrGated, t.repo, page, he)
		}
		return fmt.Errorf("%w: %s is gated; accept its terms at %s, then set HF_TOKEN (or save a token in $HF_HOME/token)", ErrGated, t.repo, page)
	case he.Code == "RepoNotFound" || (resp.StatusCode == http.StatusNotFound && t.file == "" && he.Code == "") ||
		(resp.StatusCode == http.StatusUnauthorized && !tokenSent):
		if tokenSent {
			return fmt.Errorf("%w: model %s not found at %s (or your token cannot see it)", ErrRepoNotFound, t.repo, c.cfg.Endpoint)
		}
		return fmt.Errorf("%w: model %s not found at %s (if it is private or gated, set HF_TOKEN)", ErrRepoNotFound, t.repo, c.cfg.Endpoint)
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w: the hub rejected the token from HF_TOKEN or $HF_HOME/token for %s (%v)", ErrUnauthorized, t.repo, he)
	case he.Code == "RevisionNotFound":
		return fmt.Errorf("%w: revision %q not found in %s", ErrRevisionNotFound, t.rev, t.repo)
	case he.Code == "EntryNotFound" || (resp.StatusCode == http.StatusNotFound && t.file != ""):
		return fmt.Errorf("%w: %s has no file %s at revision %s", ErrEntryNotFound, t.repo, t.file, t.rev)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: access to %s denied (%v)", ErrUnauthorized, t.repo, he)
	}
	return he
}

// isPermanent says whether an error from one transfer attempt should stop retrying.
func isPermanent(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return !he.temporary()
	}
	for _, e := range []error{ErrCorrupt, ErrRepoNotFound, ErrEntryNotFound, ErrGated, ErrUnauthorized, ErrRevisionNotFound} {
		if errors.Is(err, e) {
			return true
		}
	}
	return strings.Contains(err.Error(), "no space left on device")
}
