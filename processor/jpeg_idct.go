package processor

// The integer inverse DCT libjpeg calls "islow": the Loeffler–Ligtenberg–
// Moschytz factorisation (11 multiplies, 29 adds per 1-D pass) with 13-bit
// fixed-point constants, a first (column) pass keeping 2 extra fraction bits,
// a second (row) pass descaling by 13+2+3 bits with rounding, and the result
// offset by 128 and wrapped/clamped through libjpeg's 1024-entry range table.
// Every constant is round(c × 2^13) of the cosine product named.

const (
	idctConstBits = 13
	idctPass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// idctRange maps a descaled IDCT output (masked to 10 bits, i.e. taken
// modulo 1024 as a signed value in -512..511) to a sample: v+128 clamped.
var idctRange = func() (t [1024]uint8) {
	for i := range t {
		v := i
		if v >= 512 {
			v -= 1024
		}
		t[i] = uint8(max(0, min(255, v+128)))
	}
	return t
}()

// idctDC is idctBlock for a block whose AC coefficients are all zero: both
// passes reduce to one constant, ((dc·q << 2) + 16) >> 5 through the range table.
func idctDC(dc, q int32, out []uint8, stride int) {
	v := idctRange[(((dc*q)<<idctPass1Bits+16)>>5)&1023]
	for r := 0; r < 8; r++ {
		o := out[r*stride : r*stride+8 : r*stride+8]
		for i := range o {
			o[i] = v
		}
	}
}

// idctBlock dequantises coefficients (natural order) with q, inverse-transforms
// them and writes 8×8 samples at out with the given stride.
func idctBlock(in *[64]int32, q *[64]int32, out []uint8, stride int) {
	var ws [64]int32
	// Pass 1: columns, results scaled up by 2^pass1Bits.
	for col := 0; col < 8; col++ {
		if in[8+col]|in[16+col]|in[24+col]|in[32+col]|in[40+col]|in[48+col]|in[56+col] == 0 {
			dc := in[col] * q[col] << idctPass1Bits
			for r := 0; r < 8; r++ {
				ws[r*8+col] = dc
			}
			continue
		}
		z2 := int64(in[16+col]) * int64(q[16+col])
		z3 := int64(in[48+col]) * int64(q[48+col])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		z2 = int64(in[col]) * int64(q[col])
		z3 = int64(in[32+col]) * int64(q[32+col])
		tmp0 := (z2 + z3) << idctConstBits
		tmp1 := (z2 - z3) << idctConstBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		o0 := int64(in[56+col]) * int64(q[56+col])
		o1 := int64(in[40+col]) * int64(q[40+col])
		o2 := int64(in[24+col]) * int64(q[24+col])
		o3 := int64(in[8+col]) * int64(q[8+col])
		a0, a1, a2, a3 := oddPart(o0, o1, o2, o3)

		const sh = idctConstBits - idctPass1Bits
		const rnd = 1 << (sh - 1)
		ws[0*8+col] = int32((tmp10 + a3 + rnd) >> sh)
		ws[7*8+col] = int32((tmp10 - a3 + rnd) >> sh)
		ws[1*8+col] = int32((tmp11 + a2 + rnd) >> sh)
		ws[6*8+col] = int32((tmp11 - a2 + rnd) >> sh)
		ws[2*8+col] = int32((tmp12 + a1 + rnd) >> sh)
		ws[5*8+col] = int32((tmp12 - a1 + rnd) >> sh)
		ws[3*8+col] = int32((tmp13 + a0 + rnd) >> sh)
		ws[4*8+col] = int32((tmp13 - a0 + rnd) >> sh)
	}
	// Pass 2: rows, descaled to samples.
	for r := 0; r < 8; r++ {
		w := ws[r*8 : r*8+8 : r*8+8]
		o := out[r*stride : r*stride+8 : r*stride+8]
		if w[1]|w[2]|w[3]|w[4]|w[5]|w[6]|w[7] == 0 {
			v := idctRange[((w[0]+16)>>5)&1023]
			for i := range o {
				o[i] = v
			}
			continue
		}
		z2, z3 := int64(w[2]), int64(w[6])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		tmp0 := (int64(w[0]) + int64(w[4])) << idctConstBits
		tmp1 := (int64(w[0]) - int64(w[4])) << idctConstBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		a0, a1, a2, a3 := oddPart(int64(w[7]), int64(w[5]), int64(w[3]), int64(w[1]))

		const sh = idctConstBits + idctPass1Bits + 3
		const rnd = 1 << (sh - 1)
		o[0] = idctRange[((tmp10+a3+rnd)>>sh)&1023]
		o[7] = idctRange[((tmp10-a3+rnd)>>sh)&1023]
		o[1] = idctRange[((tmp11+a2+rnd)>>sh)&1023]
		o[6] = idctRange[((tmp11-a2+rnd)>>sh)&1023]
		o[2] = idctRange[((tmp12+a1+rnd)>>sh)&1023]
		o[5] = idctRange[((tmp12-a1+rnd)>>sh)&1023]
		o[3] = idctRange[((tmp13+a0+rnd)>>sh)&1023]
		o[4] = idctRange[((tmp13-a0+rnd)>>sh)&1023]
	}
}

// oddPart is the odd half of the 1-D transform on inputs 7, 5, 3, 1; it
// returns the terms added to/subtracted from the even outputs 3, 2, 1, 0.
func oddPart(t0, t1, t2, t3 int64) (int64, int64, int64, int64) {
	z1 := t0 + t3
	z2 := t1 + t2
	z3 := t0 + t2
	z4 := t1 + t3
	z5 := (z3 + z4) * fix1_175875602
	t0 *= fix0_298631336
	t1 *= fix2_053119869
	t2 *= fix3_072711026
	t3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 = z3*-fix1_961570560 + z5
	z4 = z4*-fix0_390180644 + z5
	return t0 + z1 + z3, t1 + z2 + z4, t2 + z2 + z3, t3 + z1 + z4
}
