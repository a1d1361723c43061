package processor

// Upsampling and colour conversion as libjpeg does them by default.
//
// Upsampling, per component, by the ratio of the largest sampling factors to
// its own (only whole ratios exist; the frame parser refuses others):
//   - 2×1 with more than 2 samples across: "fancy" triangle filter,
//     out[2j] = (3·in[j] + in[j-1] + 1) >> 2, out[2j+1] = (3·in[j] + in[j+1] + 2) >> 2;
//   - 1×2: the same vertically (bias 1 for the upper output row, 2 for the lower);
//   - 2×2 with more than 2 samples across: vertical 3:1 sums first, then
//     out[2j] = (3·s[j] + s[j-1] + 8) >> 4, out[2j+1] = (3·s[j] + s[j+1] + 7) >> 4;
//   - anything else (4×1, 2×4, 3×1, 2×1 on narrow images, ...): replication.
// Neighbours beyond the component's real samples (ceil(size·factor/max))
// repeat the edge sample, as libjpeg's edge handling does.
//
// YCbCr→RGB uses 16-bit fixed point: R = Y + round(1.402·(Cr-128)),
// B = Y + round(1.772·(Cb-128)), G = Y + floor((-0.34414·2^16·(Cb-128) -
// 0.71414·2^16·(Cr-128) + 2^15) / 2^16) with the constants rounded to 1/65536,
// clamped to 0..255. Four-component files come out of libjpeg as CMYK (YCCK
// converted with the same tables, C = 255-R etc.), which Pillow inverts
// (its "CMYK;I" raw mode, for every 4-component JPEG) and converts with
// cmyk2rgb.

type jpegColorSpace int

const (
	jcsGray jpegColorSpace = iota
	jcsYCbCr
	jcsRGB
	jcsCMYK
	jcsYCCK
)

// colorSpace is libjpeg's guess of the stored colour space from the JFIF and
// Adobe markers and the component ids.
func (d *jpegDecoder) colorSpace() jpegColorSpace {
	switch len(d.comps) {
	case 1:
		return jcsGray
	case 3:
		switch {
		case d.jfif:
			return jcsYCbCr
		case d.adobe:
			if d.adobeTransform == 0 {
				return jcsRGB
			}
			return jcsYCbCr
		case d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B':
			return jcsRGB
		}
		return jcsYCbCr
	}
	if d.adobe && d.adobeTransform != 0 {
		return jcsYCCK
	}
	return jcsCMYK
}

const (
	ccScale = 16
	ccHalf  = 1 << (ccScale - 1)
)

func ccFix(x float64) int32 { return int32(x*(1<<ccScale) + 0.5) }

var crR, cbB, crG, cbG = func() (crR, cbB, crG, cbG [256]int32) {
	for i := range 256 {
		x := int32(i - 128)
		crR[i] = (ccFix(1.40200)*x + ccHalf) >> ccScale
		cbB[i] = (ccFix(1.77200)*x + ccHalf) >> ccScale
		crG[i] = -ccFix(0.71414) * x
		cbG[i] = -ccFix(0.34414)*x + ccHalf
	}
	return
}()

func clamp255(v int32) uint8 {
	if uint32(v) <= 255 {
		return uint8(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// upsampler produces one full-resolution row of a component.
type upsampler struct {
	c          *jpegComponent
	hexp, vexp int
	mode       int // 0 full size, 1 h2v1 fancy, 2 h1v2 fancy, 3 h2v2 fancy, 4 replicate
	buf        []uint8
	sums       []int32
}

func newUpsampler(c *jpegComponent, hmax, vmax, width int) *upsampler {
	u := &upsampler{c: c, hexp: hmax / c.h, vexp: vmax / c.v}
	switch {
	case u.hexp == 1 && u.vexp == 1:
		u.mode = 0
	case u.hexp == 2 && u.vexp == 1 && c.dsWidth > 2:
		u.mode = 1
	case u.hexp == 1 && u.vexp == 2:
		u.mode = 2
	case u.hexp == 2 && u.vexp == 2 && c.dsWidth > 2:
		u.mode = 3
	default:
		u.mode = 4
	}
	u.buf = make([]uint8, max(width, 2*c.dsWidth)+u.hexp)
	if u.mode == 3 {
		u.sums = make([]int32, c.dsWidth)
	}
	return u
}

func (u *upsampler) planeRow(r int) []uint8 {
	c := u.c
	r = max(0, min(r, c.dsHeight-1))
	return c.plane[r*c.stride : r*c.stride+c.dsWidth]
}

// row returns output row y (at least width samples).
func (u *upsampler) row(y, width int) []uint8 {
	c := u.c
	switch u.mode {
	case 0:
		return c.plane[y*c.stride : y*c.stride+width]
	case 1:
		in := u.planeRow(y)
		out := u.buf
		n := len(in)
		out[0] = in[0]
		out[1] = uint8((3*int(in[0]) + int(in[1]) + 2) >> 2)
		for j := 1; j < n-1; j++ {
			t := 3 * int(in[j])
			out[2*j] = uint8((t + int(in[j-1]) + 1) >> 2)
			out[2*j+1] = uint8((t + int(in[j+1]) + 2) >> 2)
		}
		out[2*n-2] = uint8((3*int(in[n-1]) + int(in[n-2]) + 1) >> 2)
		out[2*n-1] = in[n-1]
		return out
	case 2:
		iy := y / 2
		near := u.planeRow(iy)
		var far []uint8
		bias := 1
		if y&1 == 0 {
			far = u.planeRow(iy - 1)
		} else {
			far = u.planeRow(iy + 1)
			bias = 2
		}
		out := u.buf
		for x := range near {
			out[x] = uint8((3*int(near[x]) + int(far[x]) + bias) >> 2)
		}
		return out
	case 3:
		iy := y / 2
		near := u.planeRow(iy)
		var far []uint8
		if y&1 == 0 {
			far = u.planeRow(iy - 1)
		} else {
			far = u.planeRow(iy + 1)
		}
		s := u.sums[:len(near)]
		far = far[:len(s)]
		for x := range s {
			s[x] = 3*int32(near[x]) + int32(far[x])
		}
		n := len(s)
		out := u.buf[:2*n]
		// Sliding window prev, cur, next over the column sums; the edges
		// repeat the edge sum.
		prev, cur := s[0], s[0]
		for j := 0; j < n; j++ {
			next := cur
			if j+1 < n {
				next = s[j+1]
			}
			t := 3 * cur
			o := out[2*j : 2*j+2 : 2*j+2]
			o[0] = uint8((t + prev + 8) >> 4)
			o[1] = uint8((t + next + 7) >> 4)
			prev, cur = cur, next
		}
		return out
	default:
		in := u.planeRow(y / u.vexp)
		out := u.buf
		for x := 0; x < width; x++ {
			out[x] = in[min(x/u.hexp, len(in)-1)]
		}
		return out
	}
}

// toRGB upsamples and converts the decoded planes to Pillow's RGB.
func (d *jpegDecoder) toRGB() *RGBImage {
	w, h := d.width, d.height
	img := NewRGBImage(w, h)
	ups := make([]*upsampler, len(d.comps))
	for i := range d.comps {
		ups[i] = newUpsampler(&d.comps[i], d.hmax, d.vmax, w)
	}
	cs := d.colorSpace()
	var rows [4][]uint8
	for y := 0; y < h; y++ {
		for i, u := range ups {
			rows[i] = u.row(y, w)[:w]
		}
		o := img.Pix[y*w*3 : (y+1)*w*3]
		switch cs {
		case jcsGray:
			for x, v := range rows[0] {
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		case jcsRGB:
			r, g, b := rows[0], rows[1], rows[2]
			for x := range r {
				o[3*x], o[3*x+1], o[3*x+2] = r[x], g[x], b[x]
			}
		case jcsYCbCr:
			ycc(o, rows[0], rows[1], rows[2])
		case jcsCMYK, jcsYCCK:
			c, m, ye, k := rows[0], rows[1], rows[2], rows[3]
			var px [3]uint8
			for x := range c {
				cc, mm, yy := c[x], m[x], ye[x]
				if cs == jcsYCCK {
					px = yccPixel(cc, mm, yy)
					cc, mm, yy = 255-px[0], 255-px[1], 255-px[2]
				}
				// Pillow reads libjpeg's CMYK inverted ("CMYK;I").
				o[3*x], o[3*x+1], o[3*x+2] = cmykToRGB(255-cc, 255-mm, 255-yy, 255-k[x])
			}
		}
	}
	return img
}

func yccPixel(y, cb, cr uint8) [3]uint8 {
	Y := int32(y)
	return [3]uint8{
		clamp255(Y + crR[cr]),
		clamp255(Y + (cbG[cb]+crG[cr])>>ccScale),
		clamp255(Y + cbB[cb]),
	}
}

// clampTab[(v+384)&1023] is v clamped to 0..255 for v in -384..639, which
// covers every sum ycc forms.
var clampTab = func() (t [1024]uint8) {
	for i := range t {
		t[i] = uint8(max(0, min(255, i-384)))
	}
	return t
}()

func ycc(o, yr, cbr, crr []uint8) {
	o = o[:3*len(yr)]
	cbr = cbr[:len(yr)]
	crr = crr[:len(yr)]
	for x := range yr {
		Y := int32(yr[x]) + 384
		cb, cr := cbr[x], crr[x]
		p := o[3*x : 3*x+3 : 3*x+3]
		p[0] = clampTab[(Y+crR[cr])&1023]
		p[1] = clampTab[(Y+(cbG[cb]+crG[cr])>>ccScale)&1023]
		p[2] = clampTab[(Y+cbB[cb])&1023]
	}
}
