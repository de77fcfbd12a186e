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

// kindError is an error whose message stands alone but which still matches one of the sentinel
// errors above with errors.Is.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

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
			return errorf(ErrGated, "%s is gated and your token has no access; accept its terms at %s (%v)", t.repo, page, he)
		}
		return errorf(ErrGated, "%s is gated; accept its terms at %s, then set HF_TOKEN (or save a token in $HF_HOME/token)", t.repo, page)
	case he.Code == "RepoNotFound" || (resp.StatusCode == http.StatusNotFound && t.file == "" && he.Code == "") ||
		(resp.StatusCode == http.StatusUnauthorized && !tokenSent):
		if tokenSent {
			return errorf(ErrRepoNotFound, "model %s not found at %s (or your token cannot see it)", t.repo, c.cfg.Endpoint)
		}
		return errorf(ErrRepoNotFound, "model %s not found at %s (if it is private or gated, set HF_TOKEN)", t.repo, c.cfg.Endpoint)
	case resp.StatusCode == http.StatusUnauthorized:
		return errorf(ErrUnauthorized, "the hub rejected the token from HF_TOKEN or $HF_HOME/token for %s (%v)", t.repo, he)
	case he.Code == "RevisionNotFound":
		return errorf(ErrRevisionNotFound, "revision %q not found in %s", t.rev, t.repo)
	case he.Code == "EntryNotFound" || (resp.StatusCode == http.StatusNotFound && t.file != ""):
		return errorf(ErrEntryNotFound, "%s has no file %s at revision %s", t.repo, t.file, t.rev)
	case resp.StatusCode == http.StatusForbidden:
		return errorf(ErrUnauthorized, "access to %s denied (%v)", t.repo, he)
	}
	return he
}

// isPermanent says whether an error from one transfer attempt should stop retrying.
func isPermanent(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return !he.temporary()
	}
	for _, e := range []error{ErrCorrupt, ErrRepoNotFound, ErrEntryNotFound, ErrGated, ErrUnauthorized, ErrRevisionNotFound, ErrOffline, errBadAnswer} {
		if errors.Is(err, e) {
			return true
		}
	}
	return strings.Contains(err.Error(), "no space left on device")
}
