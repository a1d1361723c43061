package jpeg

// This file replaces Go's idct with libjpeg-turbo's jpeg_idct_islow
// (jidctint.c: accurate integer IDCT, CONST_BITS 13, PASS1_BITS 2), the
// method Pillow decodes with. The arithmetic, rounding and the post-IDCT
// range-limit table (values wrap past ±512, as libjpeg's RANGE_MASK does)
// follow the C code, so every sample matches libjpeg-turbo's.

type block [blockSize]int32

const blockSize = 8 * 8

const (
	constBits = 13
	pass1Bits = 2

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

func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// rangeLimit is libjpeg's idct range-limit table, indexed by (x & 1023).
var rangeLimit = func() (t [1024]uint8) {
	for i := range t {
		switch {
		case i < 128:
			t[i] = uint8(i + 128)
		case i < 512:
			t[i] = 255
		case i < 896:
			t[i] = 0
		default:
			t[i] = uint8(i - 896)
		}
	}
	return
}()

// idctIslow transforms a dequantized block (row-major, natural order) into samples.
func idctIslow(in *block, out *[blockSize]uint8) {
	var ws [blockSize]int32
	// Pass 1: columns.
	for c := 0; c < 8; c++ {
		z2, z3 := int64(in[16+c]), int64(in[48+c])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 + z3*-fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		z2, z3 = int64(in[c]), int64(in[32+c])
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		tmp0, tmp1, tmp2, tmp3 = int64(in[56+c]), int64(in[40+c]), int64(in[24+c]), int64(in[8+c])
		o0, o1, o2, o3 := oddPart(tmp0, tmp1, tmp2, tmp3)
		const n = constBits - pass1Bits
		ws[c] = int32(descale(tmp10+o3, n))
		ws[56+c] = int32(descale(tmp10-o3, n))
		ws[8+c] = int32(descale(tmp11+o2, n))
		ws[48+c] = int32(descale(tmp11-o2, n))
		ws[16+c] = int32(descale(tmp12+o1, n))
		ws[40+c] = int32(descale(tmp12-o1, n))
		ws[24+c] = int32(descale(tmp13+o0, n))
		ws[32+c] = int32(descale(tmp13-o0, n))
	}
	// Pass 2: rows.
	for r := 0; r < 8; r++ {
		w := ws[r*8 : r*8+8]
		z2, z3 := int64(w[2]), int64(w[6])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 + z3*-fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		tmp0 := (int64(w[0]) + int64(w[4])) << constBits
		tmp1 := (int64(w[0]) - int64(w[4])) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		o0, o1, o2, o3 := oddPart(int64(w[7]), int64(w[5]), int64(w[3]), int64(w[1]))
		const n = constBits + pass1Bits + 3
		o := out[r*8 : r*8+8]
		o[0] = rangeLimit[descale(tmp10+o3, n)&1023]
		o[7] = rangeLimit[descale(tmp10-o3, n)&1023]
		o[1] = rangeLimit[descale(tmp11+o2, n)&1023]
		o[6] = rangeLimit[descale(tmp11-o2, n)&1023]
		o[2] = rangeLimit[descale(tmp12+o1, n)&1023]
		o[5] = rangeLimit[descale(tmp12-o1, n)&1023]
		o[3] = rangeLimit[descale(tmp13+o0, n)&1023]
		o[4] = rangeLimit[descale(tmp13-o0, n)&1023]
	}
}

// oddPart is the odd half of jidctint (inputs y7, y5, y3, y1); it returns the
// final tmp0..tmp3.
func oddPart(tmp0, tmp1, tmp2, tmp3 int64) (int64, int64, int64, int64) {
	z1 := tmp0 + tmp3
	z2 := tmp1 + tmp2
	z3 := tmp0 + tmp2
	z4 := tmp1 + tmp3
	z5 := (z3 + z4) * fix1_175875602
	tmp0 *= fix0_298631336
	tmp1 *= fix2_053119869
	tmp2 *= fix3_072711026
	tmp3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 *= -fix1_961570560
	z4 *= -fix0_390180644
	z3 += z5
	z4 += z5
	tmp0 += z1 + z3
	tmp1 += z2 + z4
	tmp2 += z2 + z3
	tmp3 += z1 + z4
	return tmp0, tmp1, tmp2, tmp3
}
