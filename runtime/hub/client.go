package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/infty-dev/infty/internal/safefile"
	"github.com/infty-dev/infty/internal/stall"
)

// Client talks to a hub endpoint and writes into the cache. It is safe for concurrent use.
type Client struct {
	cfg  Config
	head *http.Client // redirects are handled by hand (only relative ones are followed)
	get  *http.Client // follows redirects; Go drops Authorization when the host changes

	// Retries is how many more times a request is tried after it fails (connection cut, short
	// body, stall, 5xx); a file transfer resumes with Range. Default 5.
	Retries int
	// RetryWait is the first pause between retries; it doubles each time. Default 1s.
	RetryWait time.Duration
	// StallTimeout aborts a request (then retried) when no answer or byte arrives for this
	// long: listings and HEAD requests as well as transfers. Default Config.StallTimeout, else
	// 60s.
	StallTimeout time.Duration
	// Verify makes Pull rehash every cached blob before trusting it (a blob of the right size
	// is otherwise trusted) and download again those that do not match.
	Verify bool
	// Progress, when set, receives download progress (from the goroutine calling Pull).
	Progress func(Progress)
	// UserAgent is sent with every request.
	UserAgent string
}

// NewClient returns a client for cfg with the defaults above.
func NewClient(cfg Config) *Client {
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		MaxIdleConnsPerHost:   4,
		// Sizes are checked against the bytes on disk, so transparent decompression must not
		// change what is written.
		DisableCompression: true,
	}
	stall := cfg.StallTimeout
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	return &Client{
		cfg: cfg,
		head: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		get:          &http.Client{Transport: tr},
		Retries:      5,
		RetryWait:    time.Second,
		StallTimeout: stall,
		UserAgent:    "infty-hub/1",
	}
}

// Config returns the configuration the client was made with.
func (c *Client) Config() Config { return c.cfg }

func (c *Client) newRequest(ctx context.Context, method, u string, auth bool) (*http.Request, error) {
	if c.cfg.Offline {
		return nil, fmt.Errorf("%w: refusing to request %s", ErrOffline, u)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.UserAgent)
	req.Header.Set("Accept-Encoding", "identity")
	if auth && c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	return req, nil
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// RepoInfo is what the hub says about one revision of a repo.
type RepoInfo struct {
	Commit string
	Files  []string
}

// DefaultStallTimeout is how long a hub request may go without an answer or a byte before it
// is abandoned and retried.
const DefaultStallTimeout = 60 * time.Second

// withStall runs one request under the stall timer: f gets a context that is cancelled (with
// errStalled as its cause) when touch is not called for StallTimeout; the timer starts now,
// so waiting for the answer's headers counts.
func (c *Client) withStall(ctx context.Context, f func(ctx context.Context, touch *time.Timer) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(c.StallTimeout, func() { cancel(errStalled) })
	defer timer.Stop()
	return f(ctx, timer)
}

// retry calls f until it succeeds, fails for good (isPermanent), ctx ends, or Retries are
// spent, waiting RetryWait, doubled each time, between tries; waiting (may be nil) is called
// as each wait begins, so a progress display can say a retry is coming.
func (c *Client) retry(ctx context.Context, f func() error, waiting func()) error {
	wait := c.RetryWait
	for attempt := 0; ; attempt++ {
		err := f()
		if err == nil || ctx.Err() != nil || isPermanent(err) || attempt >= c.Retries {
			return err
		}
		if waiting != nil {
			waiting()
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// Info lists the files of a revision (GET /api/models/REPO/revision/REV), retrying a stall or
// a server error.
func (c *Client) Info(ctx context.Context, repo, rev string) (RepoInfo, error) {
	var info RepoInfo
	err := c.retry(ctx, func() error {
		return c.withStall(ctx, func(ctx context.Context, timer *time.Timer) error {
			var err error
			info, err = c.info(ctx, timer, repo, rev)
			return err
		})
	}, nil)
	return info, err
}

func (c *Client) info(ctx context.Context, timer *time.Timer, repo, rev string) (RepoInfo, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s", c.cfg.Endpoint, escapePath(repo), url.PathEscape(rev))
	req, err := c.newRequest(ctx, http.MethodGet, u, true)
	if err != nil {
		return RepoInfo{}, err
	}
	resp, err := c.get.Do(req)
	if err != nil {
		return RepoInfo{}, fmt.Errorf("listing %s@%s: %w", repo, rev, causeOr(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return RepoInfo{}, c.hubError(resp, target{repo: repo, rev: rev})
	}
	var body struct {
		SHA      string `json:"sha"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
		} `json:"siblings"`
	}
	br := &stall.Reader{R: io.LimitReader(resp.Body, 64<<20), Timer: timer, After: c.StallTimeout}
	if err := json.NewDecoder(br).Decode(&body); err != nil {
		if ctx.Err() != nil { // stalled or cancelled: not the answer's fault
			return RepoInfo{}, fmt.Errorf("listing %s@%s: %w", repo, rev, causeOr(ctx, err))
		}
		return RepoInfo{}, errorf(errBadAnswer, "listing %s@%s: bad JSON from %s: %v", repo, rev, u, err)
	}
	if body.SHA != "" && !commitNameRe.MatchString(body.SHA) {
		return RepoInfo{}, errorf(errBadAnswer, "listing %s@%s: %s answered a bad commit hash %s", repo, rev, u, safefile.Excerpt([]byte(body.SHA)))
	}
	info := RepoInfo{Commit: body.SHA}
	for _, s := range body.Siblings {
		info.Files = append(info.Files, s.RFilename)
	}
	return info, nil
}

// fileMeta is what HEAD /REPO/resolve/REV/FILE tells about a file.
type fileMeta struct {
	File     string
	Commit   string // X-Repo-Commit
	ETag     string // normalized X-Linked-Etag or ETag: the blob name
	Size     int64  // X-Linked-Size or Content-Length
	Location string // where to GET it (a CDN for LFS files)
	LFS      bool   // X-Linked-Etag present: the etag is the sha256 of the content
}

func (c *Client) resolveURL(repo, rev, file string) string {
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.cfg.Endpoint, escapePath(repo), url.PathEscape(rev), escapePath(file))
}

// headFile fetches a file's metadata, retrying a stall or a server error. Like
// huggingface_hub it follows only relative redirects (a renamed repo) and takes an absolute one
// (the CDN) as the download location.
func (c *Client) headFile(ctx context.Context, repo, rev, file string) (fileMeta, error) {
	var m fileMeta
	err := c.retry(ctx, func() error {
		return c.withStall(ctx, func(ctx context.Context, _ *time.Timer) error {
			var err error
			m, err = c.headOnce(ctx, repo, rev, file)
			return err
		})
	}, nil)
	return m, err
}

func (c *Client) headOnce(ctx context.Context, repo, rev, file string) (fileMeta, error) {
	u := c.resolveURL(repo, rev, file)
	for hops := 0; ; hops++ {
		req, err := c.newRequest(ctx, http.MethodHead, u, true)
		if err != nil {
			return fileMeta{}, err
		}
		resp, err := c.head.Do(req)
		if err != nil {
			return fileMeta{}, fmt.Errorf("%s: %w", file, causeOr(ctx, err))
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			lu, err := url.Parse(loc)
			if err != nil {
				return fileMeta{}, errorf(errBadAnswer, "%s: bad redirect %q: %v", file, loc, err)
			}
			// A relative redirect is a renamed repo: ask again there. One that carries the
			// LFS headers is the way to the content, even when it stays on this host.
			if lu.Host == "" && hops < 5 && resp.Header.Get("X-Linked-Etag") == "" {
				u = req.URL.ResolveReference(lu).String()
				continue
			}
			loc = req.URL.ResolveReference(lu).String()
		} else if resp.StatusCode != http.StatusOK {
			return fileMeta{}, c.hubError(resp, target{repo: repo, rev: rev, file: file})
		} else {
			loc = u
		}
		m := fileMeta{File: file, Commit: resp.Header.Get("X-Repo-Commit"), Location: loc}
		linked := resp.Header.Get("X-Linked-Etag")
		m.LFS = linked != ""
		m.ETag = NormalizeETag(firstNonEmpty(linked, resp.Header.Get("ETag")))
		size := firstNonEmpty(resp.Header.Get("X-Linked-Size"), resp.Header.Get("Content-Length"))
		if size == "" && resp.ContentLength >= 0 && resp.StatusCode == http.StatusOK {
			size = fmt.Sprint(resp.ContentLength)
		}
		switch {
		case m.Commit == "":
			return m, errorf(errBadAnswer, "%s: %s answered without X-Repo-Commit; is HF_ENDPOINT (%s) a Hugging Face hub?", file, u, c.cfg.Endpoint)
		case !etagRe.MatchString(m.ETag):
			return m, errorf(errBadAnswer, "%s: %s answered no usable ETag (%q)", file, u, m.ETag)
		}
		if _, err := fmt.Sscan(size, &m.Size); err != nil || m.Size < 0 {
			return m, errorf(errBadAnswer, "%s: %s answered no usable size (X-Linked-Size/Content-Length %q)", file, u, size)
		}
		if !commitNameRe.MatchString(m.Commit) {
			return m, errorf(errBadAnswer, "%s: %s answered a bad X-Repo-Commit %q", file, u, m.Commit)
		}
		return m, nil
	}
}

var errStalled = errors.New("no data received")

// errBadAnswer marks an answer that is complete but unusable: asking again would get the same.
var errBadAnswer = errors.New("unusable answer from the hub")

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }
