package tensor

import (
	"encoding/binary"
	"math"
)

// The k-quant reference quantizers of ggml-quants.c (quantize_row_q{2..6,8}_K_ref) and
// their scale searches (make_qx_quants, make_q3_quants, make_qkx2_quants). Operation
// order follows ggml exactly: C evaluates w*x[i]*l as (w*x[i])*l in float, and every
// float32(...) around a product below keeps Go from fusing it into an FMA.

// groupMaxEps is ggml's GROUP_MAX_EPS: a group whose largest magnitude is below it is
// treated as all zero.
const groupMaxEps = 1e-15

func sqrt32(f float32) float32 { return float32(math.Sqrt(float64(f))) }

func clamp32(v, lo, hi int32) int32 { return max(lo, min(hi, v)) }

// makeQXQuants is make_qx_quants: a symmetric scale for quants in [-nmax, nmax-1] chosen
// by a weighted least-squares fit over 19 candidate inverse scales. It stores l+nmax in L
// and returns the scale. rmseType 1 weights by x² when qw is nil.
func makeQXQuants(nmax int32, x []float32, L []int8, rmseType int, qw []float32) float32 {
	var maxv, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax, maxv = ax, v
		}
	}
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	iscale := float32(-nmax) / maxv
	if rmseType == 0 {
		for i, v := range x {
			L[i] = int8(nmax + clamp32(nearestInt(float32(iscale*v)), -nmax, nmax-1))
		}
		return 1 / iscale
	}
	returnEarly := false
	if rmseType < 0 {
		rmseType, returnEarly = -rmseType, true
	}
	weight := func(i int) float32 {
		switch {
		case qw != nil:
			return qw[i]
		case rmseType == 1:
			return float32(x[i] * x[i])
		case rmseType == 2:
			return 1
		case rmseType == 3:
			return abs32(x[i])
		}
		return sqrt32(abs32(x[i]))
	}
	var sumlx, suml2 float32
	for i, v := range x {
		l := clamp32(nearestInt(float32(iscale*v)), -nmax, nmax-1)
		L[i] = int8(l + nmax)
		w, fl := weight(i), float32(l)
		sumlx += float32(float32(w*v) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	if returnEarly {
		if suml2 > 0 {
			return 0.5 * (scale + 1/iscale)
		}
		return 1 / iscale
	}
	best := float32(scale * sumlx)
	for is := int32(-9); is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / maxv
		sumlx, suml2 = 0, 0
		for i, v := range x {
			l := clamp32(nearestInt(float32(iscale*v)), -nmax, nmax-1)
			w, fl := weight(i), float32(l)
			sumlx += float32(float32(w*v) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i, v := range x {
				L[i] = int8(nmax + clamp32(nearestInt(float32(iscale*v)), -nmax, nmax-1))
			}
			scale = sumlx / suml2
			best = float32(scale * sumlx)
		}
	}
	return scale
}

// makeQ3Quants is make_q3_quants (used by Q3_K): like makeQXQuants with x² weights, but
// refined by coordinate descent on each quant (up to 5 passes) when doRmse is set.
func makeQ3Quants(nmax int32, x []float32, L []int8, doRmse bool) float32 {
	var maxv, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax, maxv = ax, v
		}
	}
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	iscale := float32(-nmax) / maxv
	if !doRmse {
		for i, v := range x {
			L[i] = int8(nmax + clamp32(nearestInt(float32(iscale*v)), -nmax, nmax-1))
		}
		return 1 / iscale
	}
	var sumlx, suml2 float32
	for i, v := range x {
		l := clamp32(nearestInt(float32(iscale*v)), -nmax, nmax-1)
		L[i] = int8(l)
		w, fl := float32(v*v), float32(l)
		sumlx += float32(float32(w*v) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i, v := range x {
			w, fl := float32(v*v), float32(L[i])
			slx := sumlx - float32(float32(w*v)*fl)
			if slx <= 0 {
				continue
			}
			sl2 := suml2 - float32(float32(w*fl)*fl)
			newL := clamp32(nearestInt(float32(v*sl2)/slx), -nmax, nmax-1)
			if newL == int32(L[i]) {
				continue
			}
			fn := float32(newL)
			slx += float32(float32(w*v) * fn)
			sl2 += float32(float32(w*fn) * fn)
			if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
				L[i], sumlx, suml2 = int8(newL), slx, sl2
				changed++
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range x {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// makeQKX2Quants is make_qkx2_quants: an asymmetric fit x ≈ scale·l − theMin with quants
// l in [0, nmax], searching nstep+1 inverse scales (rmin + rdelta·is + nmax)/(max − min)
// and solving weighted least squares for scale and min at each. It fills L (using Laux
// as scratch) and returns scale and theMin (≥ 0 for finite input).
func makeQKX2Quants(nmax int32, x, weights []float32, L, Laux []uint8, rmin, rdelta float32, nstep int, useMad bool) (scale, theMin float32) {
	n := len(x)
	minv, maxv := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < minv {
			minv = x[i]
		}
		if x[i] > maxv {
			maxv = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if minv > 0 {
		minv = 0
	}
	if maxv == minv {
		clear(L[:n])
		return 0, -minv
	}
	errOf := func(s, m float32, q []uint8) float32 {
		var e float32
		for i := 0; i < n; i++ {
			diff := float32(float32(s*float32(q[i]))+m) - x[i]
			if useMad {
				diff = abs32(diff)
			} else {
				diff = float32(diff * diff)
			}
			e += float32(weights[i] * diff)
		}
		return e
	}
	iscale := float32(nmax) / (maxv - minv)
	scale = 1 / iscale
	for i := 0; i < n; i++ {
		L[i] = uint8(clamp32(nearestInt(float32(iscale*(x[i]-minv))), 0, nmax))
	}
	bestError := errOf(scale, minv, L)
	if nstep < 1 {
		return scale, -minv
	}
	for is := 0; is <= nstep; is++ {
		iscale = float32(float32(rmin+float32(rdelta*float32(is)))+float32(nmax)) / (maxv - minv)
		var sumL, sumL2, sumXL float32
		for i := 0; i < n; i++ {
			l := clamp32(nearestInt(float32(iscale*(x[i]-minv))), 0, nmax)
			Laux[i] = uint8(l)
			w, fl := weights[i], float32(l)
			wl := float32(w * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D <= 0 {
			continue
		}
		thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		if cur := errOf(thisScale, thisMin, Laux); cur < bestError {
			copy(L[:n], Laux[:n])
			bestError, scale, minv = cur, thisScale, thisMin
		}
	}
	return scale, -minv
}

// pack2bit stores 256 2-bit quants L as Q2_K/Q3_K's qs: byte 32h+l holds elements
// 128h+l, +32, +64, +96 at bits 0, 2, 4, 6.
func pack2bit(qs []byte, L []uint8) {
	for h := 0; h < 2; h++ {
		for l := 0; l < 32; l++ {
			j := 128*h + l
			qs[32*h+l] = L[j] | L[j+32]<<2 | L[j+64]<<4 | L[j+96]<<6
		}
	}
}

func quantQ2_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	var laux [16]uint8
	var weights [16]float32
	var mins, scales [QK_K / 16]float32
	const q4scale = 15
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : (i+1)*QK_K]
		b := dst[i*BlockBytesQ2_K : (i+1)*BlockBytesQ2_K]
		sc := b[Q2_KScalesOff : Q2_KScalesOff+16]
		var maxScale, maxMin float32
		for j := 0; j < QK_K/16; j++ {
			xg := x[16*j : 16*j+16]
			for l, v := range xg {
				weights[l] = abs32(v)
			}
			scales[j], mins[j] = makeQKX2Quants(3, xg, weights[:], L[16*j:16*j+16], laux[:], -0.5, 0.1, 15, true)
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := range sc {
				sc[j] = uint8(nearestInt(float32(iscale * scales[j])))
			}
			putFP16(b[Q2_KDOff:], maxScale/q4scale)
		} else {
			clear(sc)
			putFP16(b[Q2_KDOff:], 0)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := range sc {
				sc[j] |= uint8(nearestInt(float32(iscale*mins[j])) << 4)
			}
			putFP16(b[Q2_KDminOff:], maxMin/q4scale)
		} else {
			putFP16(b[Q2_KDminOff:], 0)
		}
		dAll, mAll := fp16At(b[Q2_KDOff:]), fp16At(b[Q2_KDminOff:])
		for j := 0; j < QK_K/16; j++ {
			d := dAll * float32(sc[j]&0xf)
			if d == 0 {
				continue
			}
			dm := mAll * float32(sc[j]>>4)
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = uint8(clamp32(nearestInt((x[16*j+ii]+dm)/d), 0, 3))
			}
		}
		pack2bit(b[Q2_KQsOff:Q2_KQsOff+64], L[:])
	}
}

func quantQ3_K(src []float32, dst []byte) {
	var L [QK_K]int8
	var scales [QK_K / 16]float32
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : (i+1)*QK_K]
		b := dst[i*BlockBytesQ3_K : (i+1)*BlockBytesQ3_K]
		sc := b[Q3_KScalesOff : Q3_KScalesOff+KScaleBytes]
		var maxScale, amax float32
		for j := 0; j < QK_K/16; j++ {
			scales[j] = makeQ3Quants(4, x[16*j:16*j+16], L[16*j:16*j+16], true)
			if s := abs32(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		clear(sc)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < QK_K/16; j++ {
				l := int8(nearestInt(float32(iscale * scales[j])))
				l = max(-32, min(31, l)) + 32
				if j < 8 {
					sc[j] = uint8(l) & 0xf
				} else {
					sc[j-8] |= (uint8(l) & 0xf) << 4
				}
				l >>= 4
				sc[j%4+8] |= uint8(l) << (2 * (j / 4))
			}
			putFP16(b[Q3_KDOff:], 1/iscale)
		} else {
			putFP16(b[Q3_KDOff:], 0)
		}
		dAll := fp16At(b[Q3_KDOff:])
		for j := 0; j < QK_K/16; j++ {
			d := dAll * float32(Q3KScale(j, sc))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = int8(clamp32(nearestInt(x[16*j+ii]/d), -4, 3) + 4)
			}
		}
		hmask := b[Q3_KHmaskOff : Q3_KHmaskOff+32]
		clear(hmask)
		var U [QK_K]uint8
		for j := range L {
			// The third bit of element j goes to bit j/32 of hmask[j%32].
			if L[j] > 3 {
				hmask[j%32] |= 1 << (j / 32)
				L[j] -= 4
			}
			U[j] = uint8(L[j])
		}
		pack2bit(b[Q3_KQsOff:Q3_KQsOff+64], U[:])
	}
}

// packKScales stores 8 six-bit scales and mins in the 12-byte k-quant scales field, the
// inverse of GetScaleMinK4.
func packKScales(q []byte, ls, lm *[8]uint8) {
	for j := 0; j < 8; j++ {
		if j < 4 {
			q[j] = ls[j]
			q[j+4] = lm[j]
		} else {
			q[j+4] = ls[j]&0xf | (lm[j]&0xf)<<4
			q[j-4] |= (ls[j] >> 4) << 6
			q[j] |= (lm[j] >> 4) << 6
		}
	}
}

// quantK45 is the shared part of quantize_row_q4_K_ref and quantize_row_q5_K_ref: per
// group of 32 a make_qkx2_quants fit with weights av_x + |x|, 6-bit scales and mins
// relative to their maxima, then requantization against the rounded scales. It writes d,
// dmin and scales at the Q4_K/Q5_K offsets (which agree) and returns the quants in L.
func quantK45(x []float32, b []byte, L *[QK_K]uint8, nmax int32, rmin, rdelta float32, nstep int) {
	var laux [32]uint8
	var weights [32]float32
	var mins, scales [QK_K / 32]float32
	var maxScale, maxMin float32
	for j := 0; j < QK_K/32; j++ {
		xg := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xg {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xg {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(nmax, xg, weights[:], L[32*j:32*j+32], laux[:], rmin, rdelta, nstep, false)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	var ls, lm [8]uint8
	for j := 0; j < 8; j++ {
		ls[j] = min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm[j] = min(63, uint8(nearestInt(float32(invMin*mins[j]))))
	}
	sc := b[Q4_KScalesOff : Q4_KScalesOff+KScaleBytes]
	clear(sc)
	packKScales(sc, &ls, &lm)
	putFP16(b[Q4_KDOff:], maxScale/63)
	putFP16(b[Q4_KDminOff:], maxMin/63)
	dAll, mAll := fp16At(b[Q4_KDOff:]), fp16At(b[Q4_KDminOff:])
	for j := 0; j < QK_K/32; j++ {
		s, m := GetScaleMinK4(j, sc)
		d := dAll * float32(s)
		if d == 0 {
			continue
		}
		dm := mAll * float32(m)
		for ii := 0; ii < 32; ii++ {
			L[32*j+ii] = uint8(clamp32(nearestInt((x[32*j+ii]+dm)/d), 0, nmax))
		}
	}
}

func quantQ4_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : (i+1)*QK_K]
		b := dst[i*BlockBytesQ4_K : (i+1)*BlockBytesQ4_K]
		quantK45(x, b, &L, 15, -1, 0.1, 20)
		for c := 0; c < 4; c++ {
			for l := 0; l < 32; l++ {
				b[Q4_KQsOff+32*c+l] = L[64*c+l] | L[64*c+l+32]<<4
			}
		}
	}
}

func quantQ5_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : (i+1)*QK_K]
		b := dst[i*BlockBytesQ5_K : (i+1)*BlockBytesQ5_K]
		quantK45(x, b, &L, 31, -0.5, 0.1, 15)
		qh := b[Q5_KQhOff : Q5_KQhOff+32]
		clear(qh)
		m1, m2 := uint8(1), uint8(2)
		for c := 0; c < 4; c++ {
			for j := 0; j < 32; j++ {
				l1, l2 := L[64*c+j], L[64*c+j+32]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				b[Q5_KQsOff+32*c+j] = l1 | l2<<4
			}
			m1 <<= 2
			m2 <<= 2
		}
	}
}

func quantQ6_K(src []float32, dst []byte) {
	var L [QK_K]int8
	var scales [QK_K / 16]float32
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : (i+1)*QK_K]
		b := dst[i*BlockBytesQ6_K : (i+1)*BlockBytesQ6_K]
		var maxScale, maxAbs float32
		for ib := 0; ib < QK_K/16; ib++ {
			s := makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16], 1, nil)
			scales[ib] = s
			if a := abs32(s); a > maxAbs {
				maxAbs, maxScale = a, s
			}
		}
		if maxAbs < groupMaxEps {
			clear(b)
			continue
		}
		iscale := -128 / maxScale
		putFP16(b[Q6_KDOff:], 1/iscale)
		sc := b[Q6_KScalesOff : Q6_KScalesOff+16]
		for ib := range sc {
			sc[ib] = uint8(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
		}
		dAll := fp16At(b[Q6_KDOff:])
		for j := 0; j < QK_K/16; j++ {
			d := dAll * float32(int8(sc[j]))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = int8(clamp32(nearestInt(x[16*j+ii]/d), -32, 31) + 32)
			}
		}
		for h := 0; h < 2; h++ {
			ql := b[Q6_KQlOff+64*h : Q6_KQlOff+64*h+64]
			qh := b[Q6_KQhOff+32*h : Q6_KQhOff+32*h+32]
			for l := 0; l < 32; l++ {
				j := 128*h + l
				q1, q2, q3, q4 := uint8(L[j]), uint8(L[j+32]), uint8(L[j+64]), uint8(L[j+96])
				ql[l] = q1&0xf | (q3&0xf)<<4
				ql[l+32] = q2&0xf | (q4&0xf)<<4
				qh[l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
			}
		}
	}
}

// quantQ8_K is quantize_row_q8_K_ref: one float32 scale per 256 (d = −max/127 with max
// the signed element of largest magnitude, so quants lie in [−127, 127]) and the sums of
// each run of 16 quants. An all-zero block gets zero bsums here (ggml leaves them as they
// were).
func quantQ8_K(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : (i+1)*QK_K]
		b := dst[i*BlockBytesQ8_K : (i+1)*BlockBytesQ8_K]
		maxv, amax := absMax(x)
		if amax == 0 {
			clear(b)
			continue
		}
		iscale := -127 / maxv
		qs := b[Q8_KQsOff : Q8_KQsOff+QK_K]
		for j, v := range x {
			qs[j] = uint8(int8(min(127, nearestInt(float32(iscale*v)))))
		}
		for j := 0; j < QK_K/16; j++ {
			var sum int32
			for _, q := range qs[16*j : 16*j+16] {
				sum += int32(int8(q))
			}
			binary.LittleEndian.PutUint16(b[Q8_KBsumsOff+2*j:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(b[Q8_KDOff:], math.Float32bits(1/iscale))
	}
}
