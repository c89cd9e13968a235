//go:build !purego

package kernel

import "github.com/golem-llm/golem/gguf"

// Packed kernels (packed_amd64.s); callers have checked the lengths.

//go:noescape
func gemmQ8_0x8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemmQ4_0x8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ8_0x8VNNI(w, x *byte, nb, groups int, out *float32)

//go:noescape
func gemvQ4_0x8VNNI(w, x *byte, nb, groups int, out *float32)

// packedOK reports whether the packed kernels can run (they need AVX512-VNNI). It is read at
// every call so that tests can switch the VNNI kernels off and reach the unpacked path.
func packedOK() bool { return useVNNI }

// gemmPacked sets out[c·os + r] for r < 8, c < 8: one packed weight group (nb blocks) times
// one P = 8 activation group.
func gemmPacked(t gguf.Type, w, x []byte, nb int, out []float32, os int) {
	_ = w[nb*packedRecBytes(t)-1]
	_ = x[nb*8*actRecBytes-1]
	_ = out[7*os+7]
	if !useVNNI {
		packedDotRef(t, w, nb, 1, x, 8, 0, 8, out, os)
		return
	}
	if t == gguf.TypeQ8_0 {
		gemmQ8_0x8x8VNNI(&w[0], &x[0], nb, &out[0], os)
	} else {
		gemmQ4_0x8x8VNNI(&w[0], &x[0], nb, &out[0], os)
	}
}

// gemvPacked sets out[8g + r] for the groups packed weight groups of w times one P = 1
// activation row.
func gemvPacked(t gguf.Type, w, x []byte, nb, groups int, out []float32) {
	if groups == 0 {
		return
	}
	_ = w[groups*nb*packedRecBytes(t)-1]
	_ = x[nb*actRecBytes-1]
	_ = out[8*groups-1]
	if !useVNNI {
		packedDotRef(t, w, nb, groups, x, 1, 0, 1, out, 0)
		return
	}
	if t == gguf.TypeQ8_0 {
		gemvQ8_0x8VNNI(&w[0], &x[0], nb, groups, &out[0])
	} else {
		gemvQ4_0x8VNNI(&w[0], &x[0], nb, groups, &out[0])
	}
}
