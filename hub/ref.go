// Package hub resolves model references and downloads GGUF files from a
// Hugging Face compatible hub into a local cache, with resume and integrity
// checks.
//
// A reference is one of (as llama.cpp's -hf flag and the huggingface_hub
// tools accept them):
//
//	./models/x.gguf, /abs/x.gguf, x.gguf     a local file
//	org/repo:FILE.gguf                       one file of a repository
//	org/repo:Q4_K_M                          the .gguf whose name carries the quantization tag
//	org/repo                                 the Q4_K_M file, if the repository has one
//
// A revision (branch, tag or commit) may follow the repository name after an
// '@': org/repo@v1.0:Q8_0. The default revision is "main". An optional
// "hf.co/" or "huggingface.co/" prefix is accepted and ignored, as ollama
// writes hf.co/org/repo:TAG.
package hub

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultRevision is the revision used when a reference names none.
const DefaultRevision = "main"

// DefaultQuant is the quantization picked for a bare org/repo reference,
// as llama.cpp does for -hf without a tag.
const DefaultQuant = "Q4_K_M"

// Ref is a parsed model reference. Exactly one of Path (local file) or
// Org+Repo (hub repository) is set. For a hub reference, File is the path of
// the file inside the repository (it may contain '/'); Quant is the
// quantization tag to look for when File is empty (Resolve fills File).
type Ref struct {
	Org, Repo, File, Quant, Revision string
	Path                             string // local file; other fields empty
}

// IsLocal reports whether r names a local file.
func (r Ref) IsLocal() bool { return r.Path != "" }

// RepoID returns "org/repo".
func (r Ref) RepoID() string { return r.Org + "/" + r.Repo }

// String formats r back into reference syntax. For a hub reference
// ParseRef(r.String()) == r; a relative local path gets a "./" prefix so that
// it parses as local again.
func (r Ref) String() string {
	if r.IsLocal() {
		if filepath.IsAbs(r.Path) || strings.HasPrefix(r.Path, "./") || strings.HasPrefix(r.Path, "../") {
			return r.Path
		}
		return "./" + r.Path
	}
	s := r.RepoID()
	if r.Revision != "" && r.Revision != DefaultRevision {
		s += "@" + r.Revision
	}
	switch {
	case r.File != "":
		s += ":" + r.File
	case r.Quant != "":
		s += ":" + r.Quant
	}
	return s
}

func (r Ref) revision() string {
	if r.Revision == "" {
		return DefaultRevision
	}
	return r.Revision
}

// ParseRef parses a model reference (see the package comment). A string is a
// local path when it exists on disk, starts with "/", "./", "../" or "~/", or
// ends in ".gguf" and has no ':' (so "org/repo:x.gguf" is remote). Otherwise it
// must be org/repo[@revision][:FILE.gguf|:TAG]. Names may use letters, digits,
// '-', '_' and '.' (the hub's rule), a tag the same but '.'; errors say which
// part is malformed.
func ParseRef(s string) (Ref, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Ref{}, errors.New("hub: empty model reference")
	}
	if local, ok := localPath(s); ok {
		return Ref{Path: local}, nil
	}
	for _, p := range []string{"hf.co/", "huggingface.co/"} {
		s = strings.TrimPrefix(s, p)
	}
	bad := func(format string, a ...any) (Ref, error) {
		return Ref{}, fmt.Errorf("hub: reference %q: %s (want org/repo, org/repo:FILE.gguf or org/repo:QUANT)", orig, fmt.Sprintf(format, a...))
	}
	repoPart, tag, hasTag := strings.Cut(s, ":")
	if hasTag && strings.Contains(tag, ":") {
		return bad("more than one ':'")
	}
	repoPart, rev, hasRev := strings.Cut(repoPart, "@")
	org, repo, ok := strings.Cut(repoPart, "/")
	if !ok {
		return bad("missing '/' between organization and repository")
	}
	if strings.Contains(repo, "/") {
		return bad("repository %q contains '/'; a file goes after ':'", repo)
	}
	if err := checkName("organization", org); err != nil {
		return bad("%v", err)
	}
	if err := checkName("repository", repo); err != nil {
		return bad("%v", err)
	}
	r := Ref{Org: org, Repo: repo, Revision: DefaultRevision}
	if hasRev {
		if rev == "" {
			return bad("empty revision after '@'")
		}
		if strings.ContainsAny(rev, " \t\n\\") || strings.Contains(rev, "..") {
			return bad("revision %q has a space, backslash or '..'", rev)
		}
		r.Revision = rev
	}
	if !hasTag {
		return r, nil
	}
	if tag == "" {
		return bad("empty file or tag after ':'")
	}
	if strings.HasSuffix(strings.ToLower(tag), ".gguf") {
		if err := checkFile(tag); err != nil {
			return bad("%v", err)
		}
		r.File = tag
		return r, nil
	}
	for _, c := range tag {
		if !nameChar(c) || c == '.' {
			return bad("quantization tag %q has character %q (a file must end in .gguf)", tag, c)
		}
	}
	r.Quant = tag
	return r, nil
}

// localPath reports whether s names a local file and returns it (with ~/
// expanded).
func localPath(s string) (string, bool) {
	if strings.HasPrefix(s, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, s[2:]), true
		}
		return s, true
	}
	if _, err := os.Stat(s); err == nil {
		return s, true
	}
	if filepath.IsAbs(s) || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		strings.HasPrefix(s, "/") || strings.HasPrefix(s, `.\`) || strings.HasPrefix(s, `..\`) {
		return s, true
	}
	if strings.HasSuffix(strings.ToLower(s), ".gguf") && !strings.Contains(s, ":") {
		return s, true
	}
	return "", false
}

func nameChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// checkName validates an organization or repository name: 1–96 characters
// from [A-Za-z0-9._-], not "." or "..", not starting with '.' or '-'.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s name", what)
	}
	if len(s) > 96 {
		return fmt.Errorf("%s name is %d characters (max 96)", what, len(s))
	}
	for _, c := range s {
		if !nameChar(c) {
			return fmt.Errorf("%s name %q has character %q", what, s, c)
		}
	}
	if s[0] == '.' || s[0] == '-' || strings.Contains(s, "..") {
		return fmt.Errorf("%s name %q starts with '.' or '-' or contains '..'", what, s)
	}
	return nil
}

// checkFile validates a file path inside a repository: relative, '/'-separated,
// no empty, "." or ".." segments, no backslash or control characters. This keeps
// the cache path inside the cache directory.
func checkFile(f string) error {
	if strings.HasPrefix(f, "/") {
		return fmt.Errorf("file %q is absolute", f)
	}
	if strings.ContainsAny(f, "\\") {
		return fmt.Errorf("file %q contains a backslash", f)
	}
	for _, c := range f {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("file %q contains a control character", f)
		}
	}
	for _, seg := range strings.Split(f, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("file %q has an empty, '.' or '..' path segment", f)
		}
	}
	return nil
}

// splitName recognizes llama.cpp's split-GGUF naming, PREFIX-%05d-of-%05d.gguf
// (llama_split_path in llama.cpp/src/llama.cpp), returning the prefix, the
// 1-based index and the count.
func splitName(file string) (prefix string, idx, count int, ok bool) {
	const suffix = ".gguf"
	if !strings.HasSuffix(file, suffix) {
		return "", 0, 0, false
	}
	base := file[:len(file)-len(suffix)]
	// "-00001-of-00003" is 15 bytes.
	if len(base) < 15 || base[len(base)-15] != '-' || base[len(base)-9:len(base)-5] != "-of-" {
		return "", 0, 0, false
	}
	i, err1 := strconv.Atoi(base[len(base)-14 : len(base)-9])
	n, err2 := strconv.Atoi(base[len(base)-5:])
	if err1 != nil || err2 != nil || i < 1 || n < 1 || i > n {
		return "", 0, 0, false
	}
	return base[:len(base)-15], i, n, true
}

// shardFiles returns every file of the split that file belongs to, in order;
// a file that is not a split yields itself.
func shardFiles(file string) []string {
	prefix, _, n, ok := splitName(file)
	if !ok {
		return []string{file}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d-of-%05d.gguf", prefix, i+1, n)
	}
	return out
}
