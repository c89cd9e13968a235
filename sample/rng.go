package sample

// mt19937 is the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998,
// reference code mt19937ar.c), the generator llama.cpp's dist sampler uses
// (std::mt19937 in src/llama-sampling.cpp). Its outputs for a given seed are
// fixed by the C++ standard (the 10000th output for seed 5489 is
// 4123659995), so token streams stay reproducible across golem versions.
type mt19937 struct {
	mt  [624]uint32
	idx int
}

const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// seed initialises the state. A seed below 2^32 uses init_genrand, exactly
// as std::mt19937(seed) does, so such seeds draw the same numbers as
// llama.cpp. Larger seeds use init_by_array with the key {low 32 bits,
// high 32 bits}, so no two 64-bit seeds share a stream by truncation.
func (r *mt19937) seed(s uint64) {
	if s>>32 == 0 {
		r.initGenrand(uint32(s))
	} else {
		r.initByArray([]uint32{uint32(s), uint32(s >> 32)})
	}
	r.idx = mtN
}

func (r *mt19937) initGenrand(s uint32) {
	r.mt[0] = s
	for i := 1; i < mtN; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
}

// initByArray is mt19937ar.c's init_by_array; key must not be empty.
func (r *mt19937) initByArray(key []uint32) {
	r.initGenrand(19650218)
	i, j := 1, 0
	for k := max(mtN, len(key)); k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= mtN {
			r.mt[0] = r.mt[mtN-1]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k := mtN - 1; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= mtN {
			r.mt[0] = r.mt[mtN-1]
			i = 1
		}
	}
	r.mt[0] = 0x80000000 // MSB is 1, assuring a non-zero initial array
}

// uint32 returns the next 32-bit output (genrand_int32).
func (r *mt19937) uint32() uint32 {
	if r.idx >= mtN {
		for k := 0; k < mtN; k++ {
			y := (r.mt[k] & mtUpperMask) | (r.mt[(k+1)%mtN] & mtLowerMask)
			v := r.mt[(k+mtM)%mtN] ^ (y >> 1)
			if y&1 != 0 {
				v ^= mtMatrixA
			}
			r.mt[k] = v
		}
		r.idx = 0
	}
	y := r.mt[r.idx]
	r.idx++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// float64 returns a uniform number in [0, 1) the way libstdc++'s
// std::uniform_real_distribution<double>(0, 1) does with a 32-bit engine
// (std::generate_canonical<double, 53>): two draws a, b give
// (a + b·2^32) / 2^64, and a result that rounds to 1 becomes the largest
// double below 1.
func (r *mt19937) float64() float64 {
	a := float64(r.uint32())
	b := float64(r.uint32())
	u := (a + b*4294967296.0) / 18446744073709551616.0
	if u >= 1 {
		u = 0.9999999999999999 // nextafter(1, 0)
	}
	return u
}
