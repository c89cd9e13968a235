package kernel

import (
	"encoding/binary"
	"fmt"
	"time"
)

// StreamRead reads every byte of b once, front to back, and returns a checksum of what it
// read (the XOR of its 8-byte words, a trailing partial word zero-padded) so the reads cannot be
// skipped. On amd64 with AVX2 it uses 256-bit loads, four per iteration, as a decode matvec
// streams weights; elsewhere a plain Go loop. It is the probe behind MeasureReadBandwidth.
func StreamRead(b []byte) uint64 {
	n := len(b) &^ 127
	s := streamRead(b[:n])
	for i := n; i < len(b); i += 8 {
		var w [8]byte
		copy(w[:], b[i:])
		s ^= binary.LittleEndian.Uint64(w[:])
	}
	return s
}

func streamReadRef(b []byte) uint64 {
	var s0, s1, s2, s3 uint64
	for i := 0; i+32 <= len(b); i += 32 {
		s0 ^= binary.LittleEndian.Uint64(b[i:])
		s1 ^= binary.LittleEndian.Uint64(b[i+8:])
		s2 ^= binary.LittleEndian.Uint64(b[i+16:])
		s3 ^= binary.LittleEndian.Uint64(b[i+24:])
	}
	return s0 ^ s1 ^ s2 ^ s3
}

// MeasureReadBandwidth returns the machine's streaming read bandwidth in bytes per second: all
// of p's threads read disjoint parts of one buffer of size bytes (rounded up to a multiple of
// 4 KiB · threads; at least 1 GiB is meant, far beyond the caches) with StreamRead, reps times
// after one warm-up pass that also faults the pages in; the best repetition counts, as for
// llama-bench's and STREAM's peak figures. The buffer asks for transparent huge pages, as the
// packed weight matrices do, so that the probe is not slower than decode at reading. Errors: size or reps not positive.
func MeasureReadBandwidth(p *Pool, size int64, reps int) (float64, error) {
	if size <= 0 || reps <= 0 {
		return 0, fmt.Errorf("kernel: MeasureReadBandwidth: size %d and reps %d must be positive", size, reps)
	}
	th := int64(p.Threads())
	chunk := (size + th*4096 - 1) / (th * 4096) * 4096
	buf := make([]byte, chunk*th)
	adviseHuge(buf) // as the packed weights decode streams
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = byte(i >> 12)
	}
	t := &bwTask{buf: buf, chunk: int(chunk), sums: make([]uint64, th)}
	p.Parallel(int(th), 1, t) // warm-up
	best := 0.0
	for range reps {
		start := time.Now()
		p.Parallel(int(th), 1, t)
		if bw := float64(len(buf)) / time.Since(start).Seconds(); bw > best {
			best = bw
		}
	}
	return best, nil
}

type bwTask struct {
	buf   []byte
	chunk int
	sums  []uint64
}

func (t *bwTask) Run(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		t.sums[i] = StreamRead(t.buf[i*t.chunk : (i+1)*t.chunk])
	}
}
