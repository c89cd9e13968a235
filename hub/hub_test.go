package hub

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func gitSHA1Of(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// blob returns n pseudo-random bytes (deterministic per seed).
func blob(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func newTestClient(t *testing.T, h *fakeHub) *Client {
	return &Client{Endpoint: h.srv.URL, CacheDir: t.TempDir()}
}

func mustParse(t *testing.T, s string) Ref {
	t.Helper()
	r, err := ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// leftovers lists files under dir whose name ends in .partial or .lock.
func leftovers(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, ".partial") || strings.HasSuffix(p, ".lock")) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func countCDNGets(h *fakeHub) (n int, ranges []string) {
	for _, r := range h.requests() {
		if r.CDN && r.Method == http.MethodGet {
			n++
			ranges = append(ranges, r.Range)
		}
	}
	return n, ranges
}

const modelFile = "tiny-Q4_K_M.gguf"

func TestPullFreshDownload(t *testing.T) {
	h := newFakeHub(t)
	content := blob(1, 300_000)
	h.add("org/tiny/"+modelFile, content)
	c := newTestClient(t, h)

	p, err := c.Pull(context.Background(), mustParse(t, "org/tiny:"+modelFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(c.CacheDir, "models", "org", "tiny", modelFile); p != want {
		t.Errorf("path %s, want %s", p, want)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("content differs (err %v, %d bytes)", err, len(got))
	}
	if l := leftovers(t, c.CacheDir); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
	reqs := h.requests()
	if len(reqs) != 2 || reqs[0].Method != http.MethodHead || reqs[0].Path != "/org/tiny/resolve/main/"+modelFile ||
		reqs[1].Method != http.MethodGet || reqs[1].Path != "/cdn/"+sha256Hex(content) || reqs[1].Range != "" {
		t.Errorf("requests %+v, want HEAD resolve then GET cdn", reqs)
	}
	for _, r := range reqs {
		if r.UA != "golem/"+Version {
			t.Errorf("User-Agent %q", r.UA)
		}
		if r.Auth != "" {
			t.Errorf("Authorization %q sent without a token", r.Auth)
		}
	}
	if p2, ok := c.CachedPath(mustParse(t, "org/tiny:"+modelFile)); !ok || p2 != p {
		t.Errorf("CachedPath = %s, %v", p2, ok)
	}
}

func TestPullCachedOffline(t *testing.T) {
	h := newFakeHub(t)
	content := blob(2, 10_000)
	h.add("org/tiny/"+modelFile, content)
	c := newTestClient(t, h)
	p, err := c.Pull(context.Background(), mustParse(t, "org/tiny:Q4_K_M"))
	if err != nil {
		t.Fatal(err)
	}
	h.close()
	c.Endpoint = "http://127.0.0.1:1" // nothing listens: any network use fails
	for _, s := range []string{"org/tiny:" + modelFile, "org/tiny:q4_k_m", "org/tiny"} {
		p2, err := c.Pull(context.Background(), mustParse(t, s))
		if err != nil || p2 != p {
			t.Errorf("offline Pull(%s) = %s, %v; want %s", s, p2, err, p)
		}
	}
	if _, err := c.Pull(context.Background(), mustParse(t, "org/tiny:Q8_0")); err == nil {
		t.Error("offline Pull of an uncached tag succeeded")
	}
}

func TestPullResume(t *testing.T) {
	h := newFakeHub(t)
	content := blob(3, 200_000)
	h.add("org/tiny/"+modelFile, content)
	c := newTestClient(t, h)
	dst := filepath.Join(c.CacheDir, "models", "org", "tiny", modelFile)
	os.MkdirAll(filepath.Dir(dst), 0o755)
	const have = 123_457
	if err := os.WriteFile(dst+".partial", content[:have], 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := c.Pull(context.Background(), mustParse(t, "org/tiny:"+modelFile))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatal("resumed content differs")
	}
	if n, ranges := countCDNGets(h); n != 1 || ranges[0] != fmt.Sprintf("bytes=%d-", have) {
		t.Errorf("CDN GETs %d with ranges %q, want one with bytes=%d-", n, ranges, have)
	}
}

func TestPullServerIgnoresRange(t *testing.T) {
	h := newFakeHub(t)
	content := blob(4, 50_000)
	h.add("org/tiny/"+modelFile, content)
	h.ignoreRange = true
	c := newTestClient(t, h)
	dst := filepath.Join(c.CacheDir, "models", "org", "tiny", modelFile)
	os.MkdirAll(filepath.Dir(dst), 0o755)
	// A wrong prefix: appending the 200 body to it would give a file of the
	// wrong size and hash, so success shows the partial was restarted.
	os.WriteFile(dst+".partial", bytes.Repeat([]byte{0xAA}, 1000), 0o644)
	p, err := c.Pull(context.Background(), mustParse(t, "org/tiny:"+modelFile))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatal("content differs")
	}
	if n, ranges := countCDNGets(h); n != 1 || ranges[0] != "bytes=1000-" {
		t.Errorf("CDN GETs %d ranges %q", n, ranges)
	}
}

func TestPullCorruptContent(t *testing.T) {
	h := newFakeHub(t)
	content := blob(5, 40_000)
	h.add("org/tiny/"+modelFile, content)
	bad := sha256Hex([]byte("something else"))
	h.badDigest["org/tiny/"+modelFile] = bad
	c := newTestClient(t, h)
	_, err := c.Pull(context.Background(), mustParse(t, "org/tiny:"+modelFile))
	if err == nil {
		t.Fatal("corrupt download accepted")
	}
	for _, want := range []string{modelFile, "sha256 mismatch", "expected " + bad, "got " + sha256Hex(content)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, ok := c.CachedPath(mustParse(t, "org/tiny:"+modelFile)); ok {
		t.Error("corrupt file in cache")
	}
	if l := leftovers(t, c.CacheDir); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A partial with a damaged prefix is caught by the final hash, deleted, and
// the next pull starts over.
func TestPullCorruptPartialRecovers(t *testing.T) {
	h := newFakeHub(t)
	content := blob(6, 40_000)
	h.add("org/tiny/"+modelFile, content)
	c := newTestClient(t, h)
	dst := filepath.Join(c.CacheDir, "models", "org", "tiny", modelFile)
	os.MkdirAll(filepath.Dir(dst), 0o755)
	part := append([]byte(nil), content[:20_000]...)
	part[100] ^= 1
	os.WriteFile(dst+".partial", part, 0o644)
	ref := mustParse(t, "org/tiny:"+modelFile)
	if _, err := c.Pull(context.Background(), ref); err == nil || !strings.Contains(err.Error(), "mismatch") {
		t.Fatalf("damaged partial: err %v", err)
	}
	if _, err := os.Stat(dst + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("partial not deleted: %v", err)
	}
	p, err := c.Pull(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatal("content differs")
	}
}

func TestPullToken(t *testing.T) {
	h := newFakeHub(t)
	h.withCDN()
	content := blob(7, 30_000)
	h.add("org/gated/"+modelFile, content)
	h.token = "hf_secret"
	c := newTestClient(t, h)
	ref := mustParse(t, "org/gated:Q4_K_M")

	_, err := c.Pull(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "HF_TOKEN") ||
		!strings.Contains(err.Error(), "GatedRepo") {
		t.Fatalf("without token: err %v, want a 401 naming HF_TOKEN", err)
	}
	c.Token = "wrong"
	if _, err = c.Pull(context.Background(), ref); err == nil || !strings.Contains(err.Error(), "token was rejected") {
		t.Fatalf("wrong token: err %v", err)
	}
	c.Token = "hf_secret"
	p, err := c.Pull(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatal("content differs")
	}
	var hubAuth, cdnReqs int
	for _, r := range h.requests() {
		switch {
		case r.CDN:
			cdnReqs++
			if r.Auth != "" {
				t.Errorf("token sent to the CDN (another origin): %+v", r)
			}
		case r.Auth == "Bearer hf_secret":
			hubAuth++
		}
	}
	if hubAuth != 2 || cdnReqs != 1 { // API listing + HEAD resolve; one CDN GET
		t.Errorf("%d authorized hub requests, %d CDN requests; want 2 and 1", hubAuth, cdnReqs)
	}
}

func TestPullMissingFile(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/tiny/"+modelFile, blob(8, 100))
	c := newTestClient(t, h)
	_, err := c.Pull(context.Background(), mustParse(t, "org/tiny:nope-F16.gguf"))
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "nope-F16.gguf") ||
		!strings.Contains(err.Error(), "EntryNotFound") {
		t.Fatalf("err %v", err)
	}
	_, err = c.Pull(context.Background(), mustParse(t, "org/absent:Q4_K_M"))
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "org/absent") {
		t.Fatalf("missing repo: err %v", err)
	}
	if l := leftovers(t, c.CacheDir); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
}

func TestNewClientFromEnv(t *testing.T) {
	h := newFakeHub(t)
	content := blob(9, 5_000)
	h.add("org/tiny/"+modelFile, content)
	cache := t.TempDir()
	t.Setenv("HF_ENDPOINT", h.srv.URL+"/")
	t.Setenv("HF_TOKEN", "tok")
	t.Setenv("GOLEM_CACHE", cache)
	t.Setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
	c := NewClientFromEnv()
	if c.Endpoint != h.srv.URL || c.Token != "tok" || c.CacheDir != cache || c.Progress != nil {
		t.Fatalf("client %+v", c)
	}
	p, err := c.Pull(context.Background(), mustParse(t, "org/tiny"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p, cache) {
		t.Errorf("path %s outside GOLEM_CACHE", p)
	}
	if reqs := h.requests(); len(reqs) == 0 || reqs[0].Auth != "Bearer tok" {
		t.Errorf("requests %+v", reqs)
	}

	t.Setenv("HF_ENDPOINT", "")
	t.Setenv("GOLEM_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if c := NewClientFromEnv(); c.Endpoint != DefaultEndpoint || c.CacheDir != filepath.Join("/x/cache", "golem") {
		t.Errorf("defaults: %+v", c)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/someone")
	if d := DefaultCacheDir(); d != filepath.Join("/home/someone", ".cache", "golem") {
		t.Errorf("DefaultCacheDir = %s", d)
	}
}

func TestResolveQuantTags(t *testing.T) {
	h := newFakeHub(t)
	for _, f := range []string{"README.md", "m-Q4_K_M.gguf", "m-Q4_K_S.gguf", "m-IQ4_XS.gguf", "m-Q8_0.gguf",
		"m-BF16.gguf", "mmproj-m-F16.gguf", "big/m-F16-00001-of-00002.gguf", "big/m-F16-00002-of-00002.gguf"} {
		h.add("org/m/"+f, []byte(f))
	}
	c := newTestClient(t, h)
	for _, tree := range []bool{false, true} {
		h.noSiblings = tree
		cases := []struct{ ref, file, err string }{
			{"org/m:Q8_0", "m-Q8_0.gguf", ""},
			{"org/m:q4_k_m", "m-Q4_K_M.gguf", ""},
			{"org/m", "m-Q4_K_M.gguf", ""},
			{"org/m:F16", "big/m-F16-00001-of-00002.gguf", ""}, // not BF16, not mmproj; first shard
			{"org/m:Q4_K", "", "several files: m-Q4_K_M.gguf, m-Q4_K_S.gguf"},
			{"org/m:Q2_K", "", "no .gguf file matches tag \"Q2_K\"; available: big/m-F16-00001-of-00002.gguf, m-BF16.gguf"},
		}
		for _, tc := range cases {
			r, err := c.Resolve(context.Background(), mustParse(t, tc.ref))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("tree=%v %s: err %v, want %q", tree, tc.ref, err, tc.err)
				}
				continue
			}
			if err != nil || r.File != tc.file {
				t.Errorf("tree=%v %s: File %q err %v, want %q", tree, tc.ref, r.File, err, tc.file)
			}
		}
	}
}

func TestPullSplitGGUF(t *testing.T) {
	h := newFakeHub(t)
	a, b := blob(10, 7000), blob(11, 3000)
	h.add("org/s/s-Q8_0-00001-of-00002.gguf", a)
	h.add("org/s/s-Q8_0-00002-of-00002.gguf", b)
	c := newTestClient(t, h)
	p, err := c.Pull(context.Background(), mustParse(t, "org/s:Q8_0"))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "s-Q8_0-00001-of-00002.gguf" {
		t.Errorf("path %s", p)
	}
	got1, _ := os.ReadFile(p)
	got2, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "s-Q8_0-00002-of-00002.gguf"))
	if !bytes.Equal(got1, a) || !bytes.Equal(got2, b) {
		t.Error("shard contents differ")
	}
	os.Remove(filepath.Join(filepath.Dir(p), "s-Q8_0-00002-of-00002.gguf"))
	if _, ok := c.CachedPath(mustParse(t, "org/s:s-Q8_0-00001-of-00002.gguf")); ok {
		t.Error("split with a missing shard reported cached")
	}
}

func TestPullNonLFSGitSHA1(t *testing.T) {
	h := newFakeHub(t)
	content := []byte("small text file\n")
	h.add("org/tiny/small.gguf", content)
	h.nonLFS["org/tiny/small.gguf"] = true
	c := newTestClient(t, h)
	p, err := c.Pull(context.Background(), mustParse(t, "org/tiny:small.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatal("content differs")
	}
	h.add("org/tiny/small2.gguf", content)
	h.nonLFS["org/tiny/small2.gguf"] = true
	h.badDigest["org/tiny/small2.gguf"] = gitSHA1Of([]byte("other"))
	_, err = c.Pull(context.Background(), mustParse(t, "org/tiny:small2.gguf"))
	if err == nil || !strings.Contains(err.Error(), "git blob sha1 mismatch") {
		t.Fatalf("err %v", err)
	}
}

// git hash-object of "hello\n" is ce013625030ba8dba906f756967f9e9ca394464a.
func TestGitBlobSHA1Golden(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("hello\n")
	got, err := gitBlobSHA1(f, 6)
	if err != nil || got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Errorf("gitBlobSHA1 = %s, %v", got, err)
	}
}

func TestPullCancelKeepsPartial(t *testing.T) {
	h := newFakeHub(t)
	content := blob(12, 400_000)
	const stall = 150_000
	h.add("org/tiny/"+modelFile, content)
	h.stallAt = stall
	c := newTestClient(t, h)
	ref := mustParse(t, "org/tiny:"+modelFile)
	part := filepath.Join(c.CacheDir, "models", "org", "tiny", modelFile) + ".partial"

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Pull(ctx, ref)
		done <- err
	}()
	<-h.stalled
	// Wait until the client has written what the server sent, then cancel.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if st, err := os.Stat(part); err == nil && st.Size() == stall {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("partial never reached the stall point")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "partial kept") {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if st, err := os.Stat(part); err != nil || st.Size() != stall {
		t.Fatalf("partial after cancel: %v %v", st, err)
	}
	if _, ok := c.CachedPath(ref); ok {
		t.Fatal("cancelled download in cache")
	}

	h.mu.Lock()
	h.stallAt = 0
	h.mu.Unlock()
	p, err := c.Pull(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatal("content differs after resume")
	}
	if _, ranges := countCDNGets(h); len(ranges) != 2 || ranges[1] != fmt.Sprintf("bytes=%d-", stall) {
		t.Errorf("CDN ranges %q", ranges)
	}
}

func TestPullConcurrent(t *testing.T) {
	h := newFakeHub(t)
	content := blob(13, 500_000)
	h.add("org/tiny/"+modelFile, content)
	cache := t.TempDir()
	ref := mustParse(t, "org/tiny:"+modelFile)
	const n = 4
	var wg sync.WaitGroup
	paths, errs := make([]string, n), make([]error, n)
	for i := range n {
		wg.Go(func() {
			c := &Client{Endpoint: h.srv.URL, CacheDir: cache}
			paths[i], errs[i] = c.Pull(context.Background(), ref)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || paths[i] != paths[0] {
			t.Fatalf("puller %d: %s %v", i, paths[i], errs[i])
		}
	}
	if got, _ := os.ReadFile(paths[0]); !bytes.Equal(got, content) {
		t.Fatal("content differs")
	}
	if gets, _ := countCDNGets(h); gets != 1 {
		t.Errorf("%d CDN downloads, want 1 (the others wait and reuse)", gets)
	}
}

func TestPullProgress(t *testing.T) {
	h := newFakeHub(t)
	h.add("org/tiny/"+modelFile, blob(14, 20_000))
	c := newTestClient(t, h)
	var buf bytes.Buffer
	c.Progress = &buf
	if _, err := c.Pull(context.Background(), mustParse(t, "org/tiny:"+modelFile)); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, modelFile) || !strings.Contains(out, "100%") {
		t.Errorf("progress output %q", out)
	}
}

func TestPullLocal(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "m.gguf")
	os.WriteFile(f, []byte("GGUF"), 0o644)
	c := &Client{CacheDir: t.TempDir(), Endpoint: "http://127.0.0.1:1"}
	if p, err := c.Pull(context.Background(), mustParse(t, f)); err != nil || p != f {
		t.Errorf("Pull(local) = %s, %v", p, err)
	}
	if _, err := c.Pull(context.Background(), mustParse(t, filepath.Join(dir, "absent.gguf"))); err == nil ||
		!strings.Contains(err.Error(), "absent.gguf") {
		t.Errorf("missing local file: %v", err)
	}
	if _, err := c.Pull(context.Background(), Ref{Path: dir}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}

// A renamed repository answers with a relative redirect that the metadata
// request follows (with the token: same hub); the file lands under the name
// the user gave.
func TestPullRenamedRepo(t *testing.T) {
	h := newFakeHub(t)
	content := blob(15, 9_000)
	h.add("new/repo/"+modelFile, content)
	h.renamed["old/repo"] = "new/repo"
	h.token = "tok"
	c := newTestClient(t, h)
	c.Token = "tok"
	p, err := c.Pull(context.Background(), mustParse(t, "old/repo:"+modelFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(c.CacheDir, "models", "old", "repo", modelFile); p != want {
		t.Errorf("path %s, want %s", p, want)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, content) {
		t.Fatal("content differs")
	}
	var heads []string
	for _, r := range h.requests() {
		if r.Method == http.MethodHead {
			heads = append(heads, r.Path)
		}
	}
	if want := []string{"/old/repo/resolve/main/" + modelFile, "/new/repo/resolve/main/" + modelFile}; strings.Join(heads, " ") != strings.Join(want, " ") {
		t.Errorf("HEADs %q, want %q", heads, want)
	}
}

// Another revision has its own cache folder, so it never reuses main's file.
func TestCachePathPerRevision(t *testing.T) {
	c := &Client{CacheDir: "/c"}
	main, _ := c.CachedPath(mustParse(t, "org/r:m.gguf"))
	pr, _ := c.CachedPath(mustParse(t, "org/r@refs/pr/1:m.gguf"))
	if main != filepath.Join("/c", "models", "org", "r", "m.gguf") ||
		pr != filepath.Join("/c", "models", "org", "r", "@refs%2Fpr%2F1", "m.gguf") {
		t.Errorf("paths %s, %s", main, pr)
	}
	if got := c.resolveURL(mustParse(t, "org/r@refs/pr/1:dir/a b.gguf"), "dir/a b.gguf"); got !=
		"https://huggingface.co/org/r/resolve/refs%2Fpr%2F1/dir/a%20b.gguf" {
		t.Errorf("resolveURL = %s", got)
	}
}
