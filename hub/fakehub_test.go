package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeHub mimics the Hugging Face hub's URLs and headers:
//
//	GET  /api/models/{org}/{repo}              {"siblings":[{"rfilename":...}]}
//	GET  /api/models/{org}/{repo}/tree/{rev}   [{"type":"file","path":...}]
//	HEAD|GET /{org}/{repo}/resolve/{rev}/{file} 302 to the CDN with X-Linked-Etag (sha256)
//	                                            and X-Linked-Size (LFS files), or 200 with
//	                                            ETag = git blob sha1 (small files)
//	HEAD|GET /cdn/{key}                         the bytes, honoring Range: bytes=N-
//
// The CDN is the same server unless withCDN gives it its own origin.
type fakeHub struct {
	t   *testing.T
	srv *httptest.Server
	cdn *httptest.Server // nil: CDN paths on srv

	mu          sync.Mutex
	files       map[string][]byte // "org/repo/file" → content (revision main)
	nonLFS      map[string]bool   // served directly with a git-sha1 ETag
	badDigest   map[string]string // advertised sha256 override (corruption)
	token       string            // when set, resolve and API need "Bearer token"
	ignoreRange bool
	noSiblings  bool              // API answers without siblings: client must use the tree
	stallAt     int64             // >0: the CDN stops after this byte and waits for the client to go
	stalled     chan struct{}     // closed once the stall point is reached
	reqs        []fakeRequest     // every request, in order
	cdnKeys     map[string]string // cdn key → files key
	renamed     map[string]string // old "org/repo" → new, answered with a relative 307
}

type fakeRequest struct {
	Method, Path, Range, Auth, UA string
	CDN                           bool
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{t: t, files: map[string][]byte{}, nonLFS: map[string]bool{},
		badDigest: map[string]string{}, cdnKeys: map[string]string{}, renamed: map[string]string{},
		stalled: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.close)
	return h
}

// withCDN moves the CDN to a second server (another origin).
func (h *fakeHub) withCDN() {
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serve))
}

func (h *fakeHub) close() {
	h.srv.Close()
	if h.cdn != nil {
		h.cdn.Close()
	}
}

func (h *fakeHub) add(key string, content []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.files[key] = content
}

func (h *fakeHub) requests() []fakeRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]fakeRequest(nil), h.reqs...)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	isCDN := strings.HasPrefix(p, "/cdn/")
	h.mu.Lock()
	h.reqs = append(h.reqs, fakeRequest{Method: r.Method, Path: p, Range: r.Header.Get("Range"),
		Auth: r.Header.Get("Authorization"), UA: r.Header.Get("User-Agent"), CDN: isCDN})
	h.mu.Unlock()
	switch {
	case isCDN:
		h.serveCDN(w, r, strings.TrimPrefix(p, "/cdn/"))
	case strings.HasPrefix(p, "/api/models/"):
		if !h.authorized(w, r) {
			return
		}
		h.serveAPI(w, strings.Split(strings.TrimPrefix(p, "/api/models/"), "/"))
	default:
		parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5)
		if len(parts) != 5 || parts[2] != "resolve" {
			http.NotFound(w, r)
			return
		}
		if !h.authorized(w, r) {
			return
		}
		h.serveResolve(w, r, parts[0]+"/"+parts[1], parts[3], parts[4])
	}
}

func (h *fakeHub) authorized(w http.ResponseWriter, r *http.Request) bool {
	h.mu.Lock()
	tok := h.token
	h.mu.Unlock()
	if tok != "" && r.Header.Get("Authorization") != "Bearer "+tok {
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.Header().Set("X-Error-Message", "Access to this repository is restricted.")
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	return true
}

func (h *fakeHub) serveAPI(w http.ResponseWriter, parts []string) {
	if len(parts) < 2 {
		http.NotFound(w, nil)
		return
	}
	repo := parts[0] + "/" + parts[1]
	h.mu.Lock()
	var names []string
	for k := range h.files {
		if f, ok := strings.CutPrefix(k, repo+"/"); ok {
			names = append(names, f)
		}
	}
	noSib := h.noSiblings
	h.mu.Unlock()
	sort.Strings(names)
	if len(names) == 0 {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case len(parts) == 2:
		type sib struct {
			RFilename string `json:"rfilename"`
		}
		out := struct {
			ID       string `json:"id"`
			Siblings []sib  `json:"siblings,omitempty"`
		}{ID: repo}
		if !noSib {
			for _, n := range names {
				out.Siblings = append(out.Siblings, sib{n})
			}
		}
		json.NewEncoder(w).Encode(out)
	case len(parts) >= 4 && parts[2] == "tree":
		type entry struct {
			Type string `json:"type"`
			Path string `json:"path"`
		}
		out := []entry{{Type: "directory", Path: "somedir"}}
		for _, n := range names {
			out = append(out, entry{"file", n})
		}
		json.NewEncoder(w).Encode(out)
	default:
		http.NotFound(w, nil)
	}
}

func (h *fakeHub) serveResolve(w http.ResponseWriter, r *http.Request, repo, rev, file string) {
	key := repo + "/" + file
	h.mu.Lock()
	if to, ok := h.renamed[repo]; ok {
		h.mu.Unlock()
		w.Header().Set("Location", "/"+to+"/resolve/"+rev+"/"+file)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	content, ok := h.files[key]
	nonLFS := h.nonLFS[key]
	digest := sha256Hex(content)
	if d, ok := h.badDigest[key]; ok {
		digest = d
	}
	cdnBase := h.srv.URL
	if h.cdn != nil {
		cdnBase = h.cdn.URL
	}
	h.cdnKeys[digest] = key
	h.mu.Unlock()
	if !ok || rev != "main" {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if nonLFS {
		w.Header().Set("ETag", `"`+h.etag(key)+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		if r.Method == http.MethodGet {
			w.Write(content)
		}
		return
	}
	w.Header().Set("X-Linked-Etag", `"`+digest+`"`)
	w.Header().Set("X-Linked-Size", strconv.Itoa(len(content)))
	w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef01234567"`) // the pointer's, not the content's
	w.Header().Set("Location", cdnBase+"/cdn/"+digest)
	w.WriteHeader(http.StatusFound)
}

// etag is the git-sha1 ETag for a non-LFS file, overridable via badDigest.
func (h *fakeHub) etag(key string) string {
	if d, ok := h.badDigest[key]; ok {
		return d
	}
	return gitSHA1Of(h.files[key])
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request, cdnKey string) {
	h.mu.Lock()
	content, ok := h.files[h.cdnKeys[cdnKey]]
	ignore, stallAt := h.ignoreRange, h.stallAt
	h.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	start := int64(0)
	if rg := r.Header.Get("Range"); rg != "" && !ignore {
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"), 10, 64)
		if err != nil || n < 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if n >= int64(len(content)) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(content)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = n
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(content)-1, len(content)))
	}
	body := content[start:]
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Content-Type", "application/octet-stream")
	if start > 0 {
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	if r.Method == http.MethodHead {
		return
	}
	if stallAt > start {
		w.Write(body[:stallAt-start])
		w.(http.Flusher).Flush()
		close(h.stalled)
		<-r.Context().Done() // hold the connection until the client gives up
		return
	}
	w.Write(body)
}
