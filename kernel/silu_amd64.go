//go:build !purego

package kernel

import "unsafe"

// siLUMulAVX2 is SiLUMul over n8 (a multiple of 8) elements (silu_amd64.s).
//
//go:noescape
func siLUMulAVX2(out, gate, up *float32, n8 int)

func siLUMul(out, gate, up []float32) {
	n := len(gate)
	up = up[:n]
	out = out[:n]
	n8 := n &^ 7
	if !useAVX2 || n8 == 0 {
		siLUMulRef(out, gate, up)
		return
	}
	siLUMulAVX2(unsafe.SliceData(out), unsafe.SliceData(gate), unsafe.SliceData(up), n8)
	if n8 < n {
		siLUMulRef(out[n8:], gate[n8:], up[n8:])
	}
}
