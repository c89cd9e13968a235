package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// maxRedirects bounds the relative redirects followed by the metadata
// request (renamed repositories redirect within the hub).
const maxRedirects = 10

// fileMeta is what a HEAD on the resolve URL tells about a file.
type fileMeta struct {
	url    string // where to GET the bytes: a CDN URL, or the resolve URL itself
	digest string // lower-case hex: sha256 (64 digits) of an LFS file, or git blob sha1 (40)
	size   int64  // bytes; -1 when unknown
}

// Pull returns the local path of ref, downloading it into the cache when it
// is not there. A local reference is only checked for existence. A cached
// complete file is returned without network access. Otherwise the reference
// is resolved (Resolve) and the file — every shard of a split GGUF — is
// fetched from {endpoint}/{org}/{repo}/resolve/{revision}/{file}, following
// redirects, into {file}.partial next to its final place, resuming a partial
// left by an interrupted pull (Range: bytes=N-). The content is checked
// against the size and digest the hub publishes (X-Linked-Size, X-Linked-Etag:
// the sha256 of an LFS file; or ETag: the git blob sha1 of a small file) and
// then renamed into place atomically. A digest mismatch deletes the partial.
// Concurrent pulls of the same file (threads or processes) serialize on
// {file}.lock; the later ones find the file complete.
//
// On cancellation of ctx the partial file is kept for the next Pull and the
// error wraps ctx.Err().
func (c *Client) Pull(ctx context.Context, ref Ref) (string, error) {
	if ref.IsLocal() {
		st, err := os.Stat(ref.Path)
		if err != nil {
			return "", fmt.Errorf("hub: local model: %w", err)
		}
		if !st.Mode().IsRegular() {
			return "", fmt.Errorf("hub: local model %s is not a regular file", ref.Path)
		}
		return ref.Path, nil
	}
	if c.CacheDir == "" {
		return "", errors.New("hub: Client.CacheDir is empty")
	}
	if p, ok := c.CachedPath(ref); ok {
		return p, nil
	}
	r, err := c.Resolve(ctx, ref)
	if err != nil {
		return "", err
	}
	if err := checkFile(r.File); err != nil {
		return "", fmt.Errorf("hub: %s: %w", r.RepoID(), err)
	}
	for _, f := range shardFiles(r.File) {
		if err := c.pullFile(ctx, r, f); err != nil {
			return "", err
		}
	}
	return c.filePath(r, r.File), nil
}

// pullFile makes sure one file of ref's repository is complete in the cache.
func (c *Client) pullFile(ctx context.Context, ref Ref, file string) error {
	dst := c.filePath(ref, file)
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	unlock, err := lockFile(ctx, dst+".lock")
	if err != nil {
		return fmt.Errorf("hub: locking %s: %w", dst, err)
	}
	defer unlock()
	// Another pull may have finished while we waited for the lock.
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() {
		return nil
	}
	meta, err := c.head(ctx, ref, file)
	if err != nil {
		return err
	}
	return c.download(ctx, ref, file, meta, dst)
}

// resolveURL is {endpoint}/{org}/{repo}/resolve/{revision}/{file}, each part
// path-escaped (the revision entirely, so "refs/pr/1" stays one segment, as
// huggingface_hub's hf_hub_url quotes it).
func (c *Client) resolveURL(ref Ref, file string) string {
	segs := strings.Split(file, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.endpoint() + "/" + url.PathEscape(ref.Org) + "/" + url.PathEscape(ref.Repo) +
		"/resolve/" + url.PathEscape(ref.revision()) + "/" + strings.Join(segs, "/")
}

// head asks the hub for a file's metadata. For an LFS file the hub answers
// 302 with an absolute Location (the CDN), X-Linked-Etag (sha256) and
// X-Linked-Size; the Location becomes the download URL without being
// requested here. Relative redirects (a renamed repository) are followed, as
// huggingface_hub's _request_wrapper(follow_relative_redirects=True) does.
// The first X-Linked-* values seen win; ETag and Content-Length of a final 2xx
// response are the fallback.
func (c *Client) head(ctx context.Context, ref Ref, file string) (fileMeta, error) {
	hc := *c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	m := fileMeta{size: -1}
	what := ref.RepoID() + ": " + file
	cur := c.resolveURL(ref, file)
	for hop := 0; hop <= maxRedirects; hop++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, cur, nil)
		if err != nil {
			return m, fmt.Errorf("hub: %s: %w", what, err)
		}
		c.setHeaders(req)
		resp, err := hc.Do(req)
		if err != nil {
			return m, fmt.Errorf("hub: %s: %w", what, err)
		}
		resp.Body.Close()
		if m.digest == "" {
			m.digest = normDigest(resp.Header.Get("X-Linked-Etag"))
		}
		if m.size < 0 {
			if n, err := strconv.ParseInt(resp.Header.Get("X-Linked-Size"), 10, 64); err == nil && n >= 0 {
				m.size = n
			}
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc := resp.Header.Get("Location")
			if loc == "" {
				return m, fmt.Errorf("hub: %s: %s returned %s without a Location", what, cur, resp.Status)
			}
			next, err := req.URL.Parse(loc)
			if err != nil {
				return m, fmt.Errorf("hub: %s: bad redirect %q: %w", what, loc, err)
			}
			if u, _ := url.Parse(loc); u != nil && u.Host != "" {
				m.url = next.String() // absolute: the CDN, download from there
				return m, nil
			}
			cur = next.String()
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			if m.digest == "" {
				m.digest = normDigest(resp.Header.Get("ETag"))
			}
			if m.size < 0 && resp.ContentLength >= 0 {
				m.size = resp.ContentLength
			}
			m.url = cur
			return m, nil
		default:
			return m, c.statusError(resp, what, cur)
		}
	}
	return m, fmt.Errorf("hub: %s: more than %d redirects from %s", what, maxRedirects, c.resolveURL(ref, file))
}

// normDigest turns an ETag value into a lower-case hex digest, or "" when it
// is not one (a weak or opaque tag from a plain web server).
func normDigest(etag string) string {
	etag = strings.TrimPrefix(strings.TrimSpace(etag), "W/")
	etag = strings.ToLower(strings.Trim(etag, `"`))
	if len(etag) != 64 && len(etag) != 40 {
		return ""
	}
	if _, err := hex.DecodeString(etag); err != nil {
		return ""
	}
	return etag
}

// download fetches meta.url into dst+".partial" (resuming it), verifies it
// and renames it to dst. The caller holds the file's lock.
func (c *Client) download(ctx context.Context, ref Ref, file string, meta fileMeta, dst string) (err error) {
	what := ref.RepoID() + "/" + file
	part := dst + ".partial"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("hub: %s: %w", what, err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("hub: %s: %w", what, err)
	}
	restart := func() error {
		off = 0
		if err := f.Truncate(0); err != nil {
			return err
		}
		_, err := f.Seek(0, io.SeekStart)
		return err
	}
	if meta.size >= 0 && off > meta.size {
		if err := restart(); err != nil {
			return fmt.Errorf("hub: %s: %w", what, err)
		}
	}
	// sha256 is streamed while writing; a resumed download first hashes the
	// bytes already on disk.
	var h hash.Hash
	if len(meta.digest) == 64 {
		h = sha256.New()
		if off > 0 {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("hub: %s: %w", what, err)
			}
			if _, err := io.CopyN(h, f, off); err != nil {
				return fmt.Errorf("hub: %s: hashing partial %s: %w", what, part, err)
			}
		}
	}
	if meta.size < 0 || off < meta.size {
		if err := c.fetch(ctx, what, meta, f, &off, h, restart); err != nil {
			return err
		}
	}

	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("hub: %s: %w", what, err)
	}
	if meta.size >= 0 && st.Size() != meta.size {
		if st.Size() < meta.size {
			return fmt.Errorf("hub: %s: download ended at %d of %d bytes; partial kept at %s, pull again to resume", what, st.Size(), meta.size, part)
		}
		f.Close()
		f = nil
		os.Remove(part)
		return fmt.Errorf("hub: %s: downloaded %d bytes, the hub announced %d; partial deleted", what, st.Size(), meta.size)
	}
	var got, algo string
	switch len(meta.digest) {
	case 64:
		algo, got = "sha256", hex.EncodeToString(h.Sum(nil))
	case 40:
		algo = "git blob sha1"
		if got, err = gitBlobSHA1(f, st.Size()); err != nil {
			return fmt.Errorf("hub: %s: hashing %s: %w", what, part, err)
		}
	}
	if algo != "" && got != meta.digest {
		f.Close()
		f = nil
		os.Remove(part)
		return fmt.Errorf("hub: %s: %s mismatch: expected %s, got %s; partial deleted", what, algo, meta.digest, got)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("hub: %s: %w", what, err)
	}
	cerr := f.Close()
	f = nil
	if cerr != nil {
		return fmt.Errorf("hub: %s: %w", what, cerr)
	}
	if err := os.Rename(part, dst); err != nil {
		return fmt.Errorf("hub: %s: %w", what, err)
	}
	return nil
}

// fetch GETs meta.url from *off on into f (positioned at *off), feeding h,
// and advances *off. A server that ignores Range (200) or answers with the
// wrong start restarts the file from byte 0; 416 on a resume restarts too.
func (c *Client) fetch(ctx context.Context, what string, meta fileMeta, f *os.File, off *int64, h hash.Hash, restart func() error) error {
	var resp *http.Response
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, meta.url, nil)
		if err != nil {
			return fmt.Errorf("hub: %s: %w", what, err)
		}
		c.setHeaders(req)
		if *off > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", *off))
		}
		resp, err = c.httpClient().Do(req)
		if err != nil {
			return fmt.Errorf("hub: downloading %s: %w", what, err)
		}
		again := false
		switch resp.StatusCode {
		case http.StatusOK:
			if *off > 0 { // Range ignored: the body starts at byte 0
				if err := restart(); err != nil {
					resp.Body.Close()
					return fmt.Errorf("hub: %s: %w", what, err)
				}
				if h != nil {
					h.Reset()
				}
			}
		case http.StatusPartialContent:
			if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != *off {
				again = true
			}
		case http.StatusRequestedRangeNotSatisfiable:
			again = *off > 0
		default:
			err := c.statusError(resp, "downloading "+what, meta.url)
			resp.Body.Close()
			return err
		}
		if !again {
			break
		}
		resp.Body.Close()
		if attempt > 0 || *off == 0 {
			return fmt.Errorf("hub: downloading %s: %s answered %s to a request from byte %d", what, meta.url, resp.Status, *off)
		}
		if err := restart(); err != nil {
			return fmt.Errorf("hub: %s: %w", what, err)
		}
		if h != nil {
			h.Reset()
		}
	}
	defer resp.Body.Close()

	total := meta.size
	if total < 0 && resp.ContentLength >= 0 {
		total = *off + resp.ContentLength
	}
	var w io.Writer = f
	if h != nil {
		w = io.MultiWriter(f, h)
	}
	var bar *progressbar.ProgressBar
	if c.Progress != nil {
		bar = newBar(c.Progress, path.Base(what), total, *off)
		w = io.MultiWriter(w, bar)
	}
	n, err := io.CopyBuffer(w, resp.Body, make([]byte, 1<<20))
	*off += n
	if bar != nil {
		if err == nil {
			bar.Finish()
		} else {
			fmt.Fprintln(c.Progress)
		}
	}
	if err != nil {
		f.Sync() // keep what arrived for the next resume
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("hub: downloading %s: stopped at byte %d: %w; partial kept, pull again to resume", what, *off, err)
	}
	return nil
}

// contentRangeStart parses the first byte of "bytes START-END/TOTAL".
func contentRangeStart(v string) (int64, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// gitBlobSHA1 is git's object id of a blob: sha1("blob <size>\x00" + content),
// what the hub sends as ETag for files not stored in LFS.
func gitBlobSHA1(f *os.File, size int64) (string, error) {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	if _, err := io.CopyN(h, f, size); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// newBar is a byte progress bar on w starting at done of total bytes
// (total < 0: unknown, a spinner).
func newBar(w io.Writer, name string, total, done int64) *progressbar.ProgressBar {
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		progressbar.OptionSetRenderBlankState(true),
	)
	if done > 0 {
		bar.Set64(done)
	}
	return bar
}
