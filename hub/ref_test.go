package hub

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "weights.bin") // exists, no .gguf suffix
	os.WriteFile(existing, nil, 0o644)
	home, _ := os.UserHomeDir()
	cases := []struct {
		in   string
		want Ref
	}{
		{"./m.gguf", Ref{Path: "./m.gguf"}},
		{"../x/m.gguf", Ref{Path: "../x/m.gguf"}},
		{"/abs/m", Ref{Path: "/abs/m"}},
		{"models/m.GGUF", Ref{Path: "models/m.GGUF"}},
		{"~/m.gguf", Ref{Path: filepath.Join(home, "m.gguf")}},
		{existing, Ref{Path: existing}},
		{"org/repo:model-Q4_K_M.gguf", Ref{Org: "org", Repo: "repo", File: "model-Q4_K_M.gguf", Revision: "main"}},
		{"org/repo:sub/dir/m.gguf", Ref{Org: "org", Repo: "repo", File: "sub/dir/m.gguf", Revision: "main"}},
		{"unsloth/Qwen3-0.6B-GGUF:Q4_K_M", Ref{Org: "unsloth", Repo: "Qwen3-0.6B-GGUF", Quant: "Q4_K_M", Revision: "main"}},
		{"org/repo:UD-Q4_K_XL", Ref{Org: "org", Repo: "repo", Quant: "UD-Q4_K_XL", Revision: "main"}},
		{"org/repo", Ref{Org: "org", Repo: "repo", Revision: "main"}},
		{"org/repo@v1.2:Q8_0", Ref{Org: "org", Repo: "repo", Quant: "Q8_0", Revision: "v1.2"}},
		{"hf.co/org/repo:Q8_0", Ref{Org: "org", Repo: "repo", Quant: "Q8_0", Revision: "main"}},
		{"  org/repo  ", Ref{Org: "org", Repo: "repo", Revision: "main"}},
	}
	for _, tc := range cases {
		got, err := ParseRef(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if !got.IsLocal() {
			again, err := ParseRef(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("round trip %q -> %q -> %+v, %v", tc.in, got.String(), again, err)
			}
		}
	}

	bad := []struct{ in, msg string }{
		{"", "empty model reference"},
		{"   ", "empty model reference"},
		{"justaname", "missing '/'"},
		{"org/", "empty repository name"},
		{"org/repo:", "empty file or tag"},
		{"org/repo:a:b", "more than one ':'"},
		{"org/re po:Q4_0", "has character ' '"},
		{"org/repo/extra:Q4_0", "contains '/'"},
		{"org/repo:../../etc/passwd.gguf", "'..' path segment"},
		{"org/repo:a//b.gguf", "empty"},
		{"org/repo:Q4 K", "quantization tag"},
		{"org/repo:weights.bin", "quantization tag"},
		{"org/repo@:Q4_0", "empty revision"},
		{"..org/repo", "starts with '.'"},
		{":Q4_0", "missing '/'"},
		{"org/" + strings.Repeat("r", 97), "max 96"},
	}
	for _, tc := range bad {
		_, err := ParseRef(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseRef(%q) err %v, want %q", tc.in, err, tc.msg)
		}
		if err != nil && tc.in != "" && strings.TrimSpace(tc.in) != "" && !strings.Contains(err.Error(), tc.in) {
			t.Errorf("ParseRef(%q): error %q does not quote the reference", tc.in, err)
		}
	}
}

func TestSplitName(t *testing.T) {
	p, i, n, ok := splitName("dir/m-Q8_0-00002-of-00003.gguf")
	if !ok || p != "dir/m-Q8_0" || i != 2 || n != 3 {
		t.Errorf("splitName = %q %d %d %v", p, i, n, ok)
	}
	for _, s := range []string{"m.gguf", "m-00004-of-00003.gguf", "m-00000-of-00003.gguf", "m-0001-of-00003.gguf", "m-00001-of-00003.bin", "-of-.gguf"} {
		if _, _, _, ok := splitName(s); ok {
			t.Errorf("splitName(%q) accepted", s)
		}
	}
	want := []string{"m-00001-of-00003.gguf", "m-00002-of-00003.gguf", "m-00003-of-00003.gguf"}
	if got := shardFiles("m-00002-of-00003.gguf"); !reflect.DeepEqual(got, want) {
		t.Errorf("shardFiles = %q", got)
	}
	if got := shardFiles("m.gguf"); !reflect.DeepEqual(got, []string{"m.gguf"}) {
		t.Errorf("shardFiles(single) = %q", got)
	}
}

func TestSelectQuant(t *testing.T) {
	ref := Ref{Org: "o", Repo: "r"}
	files := []string{"x-Q4_0.gguf", "x-IQ4_0.gguf", "x-Q4_K_M-00001-of-00002.gguf", "x-Q4_K_M-00002-of-00002.gguf", "x-Q4_K_M.gguf"}
	for _, tc := range []struct{ quant, want string }{
		{"Q4_0", "x-Q4_0.gguf"}, // not IQ4_0
		{"IQ4_0", "x-IQ4_0.gguf"},
		{"", "x-Q4_K_M.gguf"},    // default; single file over the split
		{"k_m", "x-Q4_K_M.gguf"}, // a substring match still works when unambiguous
	} {
		ref.Quant = tc.quant
		if got, err := selectQuant(ref, files); err != nil || got != tc.want {
			t.Errorf("selectQuant(%q) = %q, %v; want %q", tc.quant, got, err, tc.want)
		}
	}
	ref.Quant = ""
	if _, err := selectQuant(ref, []string{"a-Q8_0.gguf", "b-F16.gguf", "notes.txt"}); err == nil ||
		!strings.Contains(err.Error(), "no Q4_K_M file and no tag given; pick one of: a-Q8_0.gguf, b-F16.gguf") {
		t.Errorf("bare repo without Q4_K_M: %v", err)
	}
	if _, err := selectQuant(ref, []string{"README.md"}); err == nil || !strings.Contains(err.Error(), "no .gguf files") {
		t.Errorf("no gguf: %v", err)
	}
}
