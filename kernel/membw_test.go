package kernel

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// xorWords is the plain definition of StreamRead's checksum.
func xorWords(b []byte) uint64 {
	var s uint64
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		copy(w[:], b[i:])
		s ^= binary.LittleEndian.Uint64(w[:])
	}
	return s
}

func TestStreamRead(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 4096+64)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for _, n := range []int{0, 1, 7, 8, 31, 127, 128, 129, 255, 256, 1000, 4096} {
		for _, off := range []int{0, 1, 3, 8} { // unaligned starts too
			b := buf[off : off+n]
			if got, want := StreamRead(b), xorWords(b); got != want {
				t.Errorf("n=%d off=%d: StreamRead = %#x, want %#x", n, off, got, want)
			}
		}
	}
}

func TestMeasureReadBandwidth(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	bw, err := MeasureReadBandwidth(p, 8<<20, 2)
	if err != nil || bw <= 0 {
		t.Fatalf("MeasureReadBandwidth = %g, %v; want a positive rate", bw, err)
	}
	if _, err := MeasureReadBandwidth(p, 0, 1); err == nil {
		t.Error("size 0: no error")
	}
}
