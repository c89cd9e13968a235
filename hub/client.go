package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Version is reported in the User-Agent header as golem/<Version>; the
// command sets it at build time.
var Version = "dev"

// DefaultEndpoint is the hub used when HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// maxAPIBody bounds a repository listing read from the API (a listing of
// tens of thousands of files is a few MiB).
const maxAPIBody = 32 << 20

// Client downloads from a hub into a local cache. The zero value is not
// usable; build one with NewClientFromEnv or fill Endpoint and CacheDir.
type Client struct {
	Endpoint string       // hub base URL, e.g. https://huggingface.co (no trailing slash needed)
	Token    string       // bearer token; sent only to the Endpoint's origin
	CacheDir string       // files go to CacheDir/models/{org}/{repo}/{file}
	HTTP     *http.Client // nil = http.DefaultClient
	Progress io.Writer    // progress bar destination; nil = no progress output
}

// NewClientFromEnv builds a client from the environment:
//
//	HF_ENDPOINT   hub base URL (default https://huggingface.co)
//	HF_TOKEN      bearer token (HUGGING_FACE_HUB_TOKEN is read as a fallback)
//	GOLEM_CACHE   cache directory; else $XDG_CACHE_HOME/golem; else ~/.cache/golem
//
// Progress goes to stderr when stderr is a terminal, unless
// HF_HUB_DISABLE_PROGRESS_BARS is set to a true value (as huggingface_hub
// reads it); set Client.Progress to force or silence it.
func NewClientFromEnv() *Client {
	c := &Client{
		Endpoint: strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/"),
		Token:    os.Getenv("HF_TOKEN"),
		CacheDir: DefaultCacheDir(),
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if c.Token == "" {
		c.Token = os.Getenv("HUGGING_FACE_HUB_TOKEN")
	}
	switch strings.ToLower(os.Getenv("HF_HUB_DISABLE_PROGRESS_BARS")) {
	case "1", "true", "yes", "on":
	default:
		if isTerminal(os.Stderr) {
			c.Progress = os.Stderr
		}
	}
	return c
}

// DefaultCacheDir returns $GOLEM_CACHE, else $XDG_CACHE_HOME/golem, else
// ~/.cache/golem (else a "golem-cache" folder in the temporary directory when
// no home directory is known).
func DefaultCacheDir() string {
	if d := os.Getenv("GOLEM_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "golem")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "golem")
	}
	return filepath.Join(os.TempDir(), "golem-cache")
}

// isTerminal reports whether f is a character device (a terminal), using
// only the standard library.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) endpoint() string {
	e := strings.TrimRight(c.Endpoint, "/")
	if e == "" {
		return DefaultEndpoint
	}
	return e
}

// repoDir is the cache folder of a repository at ref's revision. The default
// revision uses models/{org}/{repo}; another revision gets its own
// models/{org}/{repo}/@{revision} so that two revisions never share a file.
func (c *Client) repoDir(ref Ref) string {
	d := filepath.Join(c.CacheDir, "models", ref.Org, ref.Repo)
	if rev := ref.revision(); rev != DefaultRevision {
		d = filepath.Join(d, "@"+url.PathEscape(rev))
	}
	return d
}

func (c *Client) filePath(ref Ref, file string) string {
	return filepath.Join(c.repoDir(ref), filepath.FromSlash(file))
}

// CachedPath returns where ref is on disk and whether it is there, complete,
// without touching the network. A local reference returns its own path. For a
// split GGUF (name-00001-of-0000N.gguf) every shard must be cached; the path of
// the first is returned. A reference with a quantization tag but no file is
// matched against the cached .gguf files of the repository with the same
// rules as Resolve, so an earlier pull of org/repo:Q4_K_M works offline.
func (c *Client) CachedPath(ref Ref) (string, bool) {
	if ref.IsLocal() {
		st, err := os.Stat(ref.Path)
		return ref.Path, err == nil && st.Mode().IsRegular()
	}
	if ref.Org == "" || ref.Repo == "" || c.CacheDir == "" {
		return "", false
	}
	file := ref.File
	if file == "" {
		files := c.cachedFiles(ref)
		f, err := selectQuant(ref, files)
		if err != nil {
			return "", false
		}
		file = f
	}
	if checkFile(file) != nil {
		return "", false
	}
	for _, f := range shardFiles(file) {
		st, err := os.Stat(c.filePath(ref, f))
		if err != nil || !st.Mode().IsRegular() {
			return c.filePath(ref, file), false
		}
	}
	return c.filePath(ref, file), true
}

// cachedFiles lists complete .gguf files under the repository's cache folder
// as '/'-separated paths relative to it (partial and lock files are skipped
// by their suffix).
func (c *Client) cachedFiles(ref Ref) []string {
	root := c.repoDir(ref)
	var out []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			// Other revisions live in @rev subfolders of the default one.
			if p != root && strings.HasPrefix(d.Name(), "@") {
				return filepath.SkipDir
			}
			return nil
		}
		if rel, err := filepath.Rel(root, p); err == nil && d.Type().IsRegular() {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// Resolve fills ref.File for a reference given by quantization tag (or none:
// DefaultQuant), listing the repository through the hub API
// (GET {endpoint}/api/models/{org}/{repo}[/revision/{rev}], field
// siblings[].rfilename; falling back to .../tree/{rev}?recursive=true). A local
// reference or one with File set is returned unchanged, without network
// access. See selectQuant for the matching rules; errors list the candidates.
func (c *Client) Resolve(ctx context.Context, ref Ref) (Ref, error) {
	if ref.IsLocal() || ref.File != "" {
		return ref, nil
	}
	if ref.Org == "" || ref.Repo == "" {
		return ref, fmt.Errorf("hub: reference %q has neither a local path nor org/repo", ref.String())
	}
	files, err := c.ListFiles(ctx, ref)
	if err != nil {
		return ref, err
	}
	f, err := selectQuant(ref, files)
	if err != nil {
		return ref, err
	}
	ref.File = f
	return ref, nil
}

// ListFiles returns the paths of all files of ref's repository at its
// revision, as the hub API reports them.
func (c *Client) ListFiles(ctx context.Context, ref Ref) ([]string, error) {
	base := c.endpoint() + "/api/models/" + url.PathEscape(ref.Org) + "/" + url.PathEscape(ref.Repo)
	infoURL := base
	if rev := ref.revision(); rev != DefaultRevision {
		infoURL += "/revision/" + url.PathEscape(rev)
	}
	var info struct {
		Siblings []struct {
			RFilename string `json:"rfilename"`
		} `json:"siblings"`
	}
	err := c.getJSON(ctx, ref, infoURL, &info)
	if err == nil && len(info.Siblings) > 0 {
		out := make([]string, 0, len(info.Siblings))
		for _, s := range info.Siblings {
			out = append(out, s.RFilename)
		}
		return out, nil
	}
	// Some mirrors serve only the tree listing; a missing repository fails
	// the same way there.
	var tree []struct {
		Type string `json:"type"`
		Path string `json:"path"`
	}
	terr := c.getJSON(ctx, ref, base+"/tree/"+url.PathEscape(ref.revision())+"?recursive=true", &tree)
	if terr != nil {
		if err != nil {
			return nil, err
		}
		return nil, terr
	}
	var out []string
	for _, t := range tree {
		if t.Type == "file" || t.Type == "" {
			out = append(out, t.Path)
		}
	}
	return out, nil
}

func (c *Client) getJSON(ctx context.Context, ref Ref, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("hub: %s: %w", ref.RepoID(), err)
	}
	c.setHeaders(req)
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("hub: listing %s: %w", ref.RepoID(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.statusError(resp, "listing "+ref.RepoID(), u)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody+1))
	if err != nil {
		return fmt.Errorf("hub: listing %s: reading %s: %w", ref.RepoID(), u, err)
	}
	if len(body) > maxAPIBody {
		return fmt.Errorf("hub: listing %s: %s: response larger than %d bytes", ref.RepoID(), u, maxAPIBody)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("hub: listing %s: %s: %w", ref.RepoID(), u, err)
	}
	return nil
}

// setHeaders adds the User-Agent, and the token when the request goes to the
// endpoint's origin (scheme, host and port). Like huggingface_hub, which
// drops the authorization header once the hub redirects to a CDN, the token
// never leaves the hub's own origin.
func (c *Client) setHeaders(req *http.Request) {
	req.Header.Set("User-Agent", "golem/"+Version)
	if c.Token != "" && c.sameOrigin(req.URL) {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
}

func (c *Client) sameOrigin(u *url.URL) bool {
	e, err := url.Parse(c.endpoint())
	if err != nil {
		return false
	}
	return strings.EqualFold(e.Scheme, u.Scheme) && strings.EqualFold(e.Host, u.Host)
}

// statusError describes a failed hub response, with the hub's own
// X-Error-Code/X-Error-Message when it sent them.
func (c *Client) statusError(resp *http.Response, what, u string) error {
	msg := fmt.Sprintf("hub: %s: %s returned %s", what, u, resp.Status)
	if code := resp.Header.Get("X-Error-Code"); code != "" {
		msg += " (" + code
		if m := resp.Header.Get("X-Error-Message"); m != "" {
			msg += ": " + m
		}
		msg += ")"
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		if c.Token == "" {
			msg += "; the repository may be private or gated: set HF_TOKEN"
		} else {
			msg += "; the token was rejected or lacks access to this repository"
		}
	case http.StatusNotFound:
		msg += "; check the repository, revision and file names"
	}
	return errors.New(msg)
}

// selectQuant picks the .gguf file for ref.Quant (DefaultQuant when empty)
// among files. Rules, in order:
//   - candidates are .gguf files whose path contains the tag, case-insensitively;
//     vision projectors (base name starting with "mmproj") are skipped, as
//     llama.cpp does;
//   - if some candidates carry the tag as a whole '-'/'.'/'/'-delimited token
//     (so "Q4_K" is not taken as "IQ4_K" or "Q4_K_M"), only those remain;
//   - the shards of a split GGUF count as one candidate, its first shard;
//   - a single-file candidate is preferred to a split one;
//   - exactly one must remain; none or several is an error listing them.
func selectQuant(ref Ref, files []string) (string, error) {
	tag := ref.Quant
	if tag == "" {
		tag = DefaultQuant
	}
	lt := strings.ToLower(tag)
	var ggufs, cand, whole []string
	for _, f := range files {
		lf := strings.ToLower(f)
		if !strings.HasSuffix(lf, ".gguf") || strings.HasPrefix(path.Base(lf), "mmproj") {
			continue
		}
		if _, i, _, ok := splitName(f); ok && i != 1 {
			continue // a split is represented by its first shard
		}
		ggufs = append(ggufs, f)
		if !strings.Contains(lf, lt) {
			continue
		}
		cand = append(cand, f)
		if wholeToken(lf, lt) {
			whole = append(whole, f)
		}
	}
	if len(whole) > 0 {
		cand = whole
	}
	if len(cand) > 1 {
		var single []string
		for _, f := range cand {
			if _, _, _, ok := splitName(f); !ok {
				single = append(single, f)
			}
		}
		if len(single) > 0 {
			cand = single
		}
	}
	sort.Strings(ggufs)
	sort.Strings(cand)
	switch {
	case len(cand) == 1:
		return cand[0], nil
	case len(cand) > 1:
		return "", fmt.Errorf("hub: %s: tag %q matches several files: %s; name one as %s:FILE.gguf",
			ref.RepoID(), tag, strings.Join(cand, ", "), ref.RepoID())
	case len(ggufs) == 0:
		return "", fmt.Errorf("hub: %s: no .gguf files in the repository", ref.RepoID())
	case ref.Quant == "":
		return "", fmt.Errorf("hub: %s: no %s file and no tag given; pick one of: %s",
			ref.RepoID(), DefaultQuant, strings.Join(ggufs, ", "))
	default:
		return "", fmt.Errorf("hub: %s: no .gguf file matches tag %q; available: %s",
			ref.RepoID(), tag, strings.Join(ggufs, ", "))
	}
}

// wholeToken reports whether tag occurs in name delimited by start, '/', '-'
// or '.' before it and '-', '.' or end after it (both lower-cased).
func wholeToken(name, tag string) bool {
	for i := 0; ; {
		j := strings.Index(name[i:], tag)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(tag)
		before := j == 0 || strings.ContainsRune("/-.", rune(name[j-1]))
		after := end == len(name) || strings.ContainsRune("-.", rune(name[end]))
		if before && after {
			return true
		}
		i = j + 1
	}
}
