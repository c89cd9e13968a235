package kernel

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tensor"
)

// BenchmarkMatMul times a rows×cols weight matrix times one activation vector on one goroutine
// (impl=avx2: DotRows*; impl=packed-<Impl()>: the packed one-row kernels of packed.go on the
// repacked matrix), reporting weight bytes per second (MB/s in the output = 1e6 bytes/s).
// 4096x4096 Q8_0 is 17.8 MB (around L3 size); 14336x4096 is 62 MB (DRAM).
func BenchmarkMatMul(b *testing.B) {
	type typ struct {
		name      string
		typ       gguf.Type
		bs, wb    int
		k         bool
		ref, simd func(n int, w, x []byte) float32
	}
	types := []typ{
		{"Q8_0", gguf.TypeQ8_0, 32, q8_0BlockBytes, false, dotQ8_0Ref, dotQ8_0},
		{"Q4_0", gguf.TypeQ4_0, 32, q4_0BlockBytes, false, dotQ4_0Ref, dotQ4_0},
		{"Q4_K", gguf.TypeQ4_K, 256, q4_KBlockBytes, true, dotQ4_KRef, dotQ4_K},
		{"Q5_K", gguf.TypeQ5_K, 256, q5_KBlockBytes, true, dotQ5_KRef, dotQ5_K},
		{"Q6_K", gguf.TypeQ6_K, 256, q6_KBlockBytes, true, dotQ6_KRef, dotQ6_K},
		{"F16", gguf.TypeF16, 1, 2, false, nil, nil},
		{"BF16", gguf.TypeBF16, 1, 2, false, nil, nil},
		{"F32", gguf.TypeF32, 1, 4, false, nil, nil},
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, t := range types {
		for _, shape := range [][2]int{{1024, 4096}, {4096, 4096}, {14336, 4096}} {
			rows, cols := shape[0], shape[1]
			rowBytes := cols / t.bs * t.wb
			w := make([]byte, rows*rowBytes)
			for i := range w {
				w[i] = byte(r.Uint32())
			}
			for i := 0; i < len(w); i += t.wb { // keep scales (and F32/BF16 values) finite
				switch {
				case t.name == "F32":
					w[i+3] &= 0x3f
				case t.name == "BF16":
					w[i+1] &= 0x3f
				case t.wb > 2:
					w[i+1] &= 0x3f
				}
			}
			xf := make([]float32, cols)
			for i := range xf {
				xf[i] = float32(r.NormFloat64())
			}
			var x []byte
			var xh []uint16
			switch {
			case t.name == "F16":
				xh = make([]uint16, cols)
				F32ToF16Row(xf, xh)
			case t.name == "BF16":
				xh = make([]uint16, cols)
				for i, v := range xf {
					xh[i] = tensor.FP32ToBF16(v)
				}
			case t.k:
				x = make([]byte, Q8_KRowBytes(cols))
				QuantizeQ8_K(xf, x)
			default:
				x = make([]byte, Q8_0RowBytes(cols))
				QuantizeQ8_0(xf, x)
			}
			out := make([]float32, rows)
			impls := []string{"ref"}
			if useAVX2 {
				impls = append(impls, "avx2")
			}
			var packed, pa []byte
			if f := packedFormats[t.typ]; f != nil && packable(t.typ) {
				m := Matrix{Type: t.typ, K: cols, N: rows, RowBytes: rowBytes, Data: w}
				packed = packMatrix(&m)
				pa = make([]byte, cols/f.blockElems*f.actRec(1))
				if f.kquant {
					packActK(x, cols/256, 1, 0, pa)
				} else {
					packAct(x, cols/32, 1, 0, pa)
				}
				impls = append(impls, "packed-"+Impl()) // the packed GEMV of this CPU's instruction set
			}
			for _, impl := range impls {
				if impl == "ref" && rows > 1024 {
					continue // the reference is for correctness; one size is enough
				}
				f := t.simd
				if impl == "ref" {
					f = t.ref
				}
				b.Run(fmt.Sprintf("%s/%dx%d/impl=%s", t.name, rows, cols, impl), func(b *testing.B) {
					b.SetBytes(int64(len(w)))
					for b.Loop() {
						if t.name == "BF16" || t.name == "F32" {
							for i := range out {
								wr := w[i*rowBytes : (i+1)*rowBytes]
								switch {
								case t.name == "F32" && impl == "ref":
									out[i] = dotF32Ref(f32View(wr), xf)
								case t.name == "F32":
									out[i] = dotF32(f32View(wr), xf)
								case impl == "ref":
									out[i] = dotBF16Ref(cols, wr, xh)
								default:
									out[i] = dotBF16(cols, wr, xh)
								}
							}
							continue
						}
						if t.name == "F16" {
							for i := range out {
								if impl == "ref" {
									out[i] = dotF16Ref(cols, w[i*rowBytes:], xh)
								} else {
									out[i] = dotF16(cols, w[i*rowBytes:], xh)
								}
							}
							continue
						}
						if strings.HasPrefix(impl, "packed-") {
							gemvPacked(t.typ, packed, pa, cols/packedFormats[t.typ].blockElems, rows/8, out)
							continue
						}
						if impl == "avx2" { // the multi-row path MatMul uses
							rowsKernel(t.typ)(cols, w, rowBytes, x, out)
							continue
						}
						for i := range out {
							out[i] = f(cols, w[i*rowBytes:], x)
						}
					}
				})
			}
		}
	}
}

// BenchmarkReadBandwidth measures one core's plain read bandwidth over 256 MiB (sum of uint64
// with 8 independent accumulators), the ceiling for a decode matvec.
func BenchmarkReadBandwidth(b *testing.B) {
	for _, size := range []int{16 << 20, 256 << 20} {
		buf := make([]uint64, size/8)
		for i := range buf {
			buf[i] = uint64(i)
		}
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(size))
			var sink uint64
			for b.Loop() {
				var s0, s1, s2, s3, s4, s5, s6, s7 uint64
				for i := 0; i+8 <= len(buf); i += 8 {
					v := buf[i : i+8 : i+8]
					s0 += v[0]
					s1 += v[1]
					s2 += v[2]
					s3 += v[3]
					s4 += v[4]
					s5 += v[5]
					s6 += v[6]
					s7 += v[7]
				}
				sink += s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
			}
			if sink == 1 {
				b.Log(sink)
			}
		})
	}
	// DotF32 streams two arrays with AVX2 loads: a second estimate of the read ceiling.
	w := make([]float32, 32<<20)
	x := make([]float32, 32<<20)
	b.Run("DotF32/256MiB", func(b *testing.B) {
		b.SetBytes(int64(8 * len(w)))
		for b.Loop() {
			DotF32(w, x)
		}
	})
}
