package hub_test

import (
	"fmt"

	"github.com/golem-llm/golem/hub"
)

func ExampleParseRef() {
	for _, s := range []string{
		"unsloth/Qwen3-0.6B-GGUF:Q4_K_M",
		"org/repo@v2:model-F16.gguf",
		"org/repo",
		"./models/local.gguf",
		"org/repo:bad tag",
	} {
		r, err := hub.ParseRef(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("org=%q repo=%q file=%q quant=%q rev=%q path=%q\n", r.Org, r.Repo, r.File, r.Quant, r.Revision, r.Path)
	}
	// Output:
	// org="unsloth" repo="Qwen3-0.6B-GGUF" file="" quant="Q4_K_M" rev="main" path=""
	// org="org" repo="repo" file="model-F16.gguf" quant="" rev="v2" path=""
	// org="org" repo="repo" file="" quant="" rev="main" path=""
	// org="" repo="" file="" quant="" rev="" path="./models/local.gguf"
	// error: hub: reference "org/repo:bad tag": quantization tag "bad tag" has character ' ' (a file must end in .gguf) (want org/repo, org/repo:FILE.gguf or org/repo:QUANT)
}
