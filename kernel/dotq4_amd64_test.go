//go:build !purego

package kernel

import (
	"math/rand/v2"
	"testing"
)

// TestQ4_0RowsAVX2WithoutVNNI runs the four-row Q4_0 checks of TestMultiRowColMatchSingle on the
// AVX2 loop of dotQ4_0x4AVX2 on a CPU that would take its VNNI loop, so both loops are held
// bit for bit to the reference.
func TestQ4_0RowsAVX2WithoutVNNI(t *testing.T) {
	if !useVNNI {
		t.Skip("no AVX512-VNNI: TestMultiRowColMatchSingle already ran the AVX2 loop")
	}
	useVNNI = false
	defer func(v bool) { useVNNI = v }(useVNNI)
	r := rand.New(rand.NewPCG(17, 18))
	for _, k := range qkernels {
		if k.name != "Q4_0" {
			continue
		}
		for _, rows := range []int{4, 5, 8, 9} {
			for _, nb := range []int{1, 3, 8} {
				for mode := 0; mode < 3; mode++ {
					checkMultiRowCol(t, r, k, rows, 1, nb, mode)
				}
			}
		}
	}
}
