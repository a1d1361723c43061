package processor

import "image"

// libjpeg-turbo (what Pillow decodes JPEG with) upsamples chroma with a
// triangle filter ("fancy upsampling") and converts YCbCr→RGB with its own
// rounding tables; Go's image/jpeg leaves chroma subsampled and image/color
// rounds differently. Together with libjpeg's IDCT (internal/jpeg) these
// steps make our decode byte-identical to Pillow's.

const (
	jScaleBits = 16
	jOneHalf   = 1 << (jScaleBits - 1)
)

func jFix(x float64) int32 { return int32(x*(1<<jScaleBits) + 0.5) }

var jTabs = func() (t struct{ crR, cbB, crG, cbG [256]int32 }) {
	for i := 0; i < 256; i++ {
		x := int32(i - 128)
		t.crR[i] = (jFix(1.40200)*x + jOneHalf) >> jScaleBits
		t.cbB[i] = (jFix(1.77200)*x + jOneHalf) >> jScaleBits
		t.crG[i] = -jFix(0.71414) * x
		t.cbG[i] = -jFix(0.34414)*x + jOneHalf
	}
	return
}()

func clampU8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// jpegYCbCrToRGB converts a decoded JPEG the way libjpeg-turbo's default
// decompressor does (fancy upsampling for 4:2:0, 4:2:2 and 4:4:0, sample
// replication for 4:1:1 and 4:1:0).
func jpegYCbCrToRGB(out *RGBImage, s *image.YCbCr) {
	w, h := out.Width, out.Height
	cw, ch := (s.Rect.Dx()), (s.Rect.Dy())
	var hs, vs int // chroma subsampling factors
	switch s.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		hs, vs = 1, 1
	case image.YCbCrSubsampleRatio422:
		hs, vs = 2, 1
	case image.YCbCrSubsampleRatio420:
		hs, vs = 2, 2
	case image.YCbCrSubsampleRatio440:
		hs, vs = 1, 2
	case image.YCbCrSubsampleRatio411:
		hs, vs = 4, 1
	case image.YCbCrSubsampleRatio410:
		hs, vs = 4, 2
	default:
		ycbcrToRGB(out, s)
		return
	}
	if s.Rect.Min != (image.Point{}) {
		ycbcrToRGB(out, s)
		return
	}
	cw, ch = (cw+hs-1)/hs, (ch+vs-1)/vs
	cb := upsampleFancy(s.Cb, s.CStride, cw, ch, hs, vs, w, h)
	cr := upsampleFancy(s.Cr, s.CStride, cw, ch, hs, vs, w, h)
	t := &jTabs
	for y := 0; y < h; y++ {
		yrow := s.Y[y*s.YStride : y*s.YStride+w]
		o := out.Pix[y*w*3 : (y+1)*w*3]
		cbr, crr := cb[y*w:(y+1)*w], cr[y*w:(y+1)*w]
		for x, yy := range yrow {
			Y := int32(yy)
			b, r := cbr[x], crr[x]
			o[x*3] = clampU8(Y + t.crR[r])
			o[x*3+1] = clampU8(Y + (t.cbG[b]+t.crG[r])>>jScaleBits)
			o[x*3+2] = clampU8(Y + t.cbB[b])
		}
	}
}

// upsampleFancy returns a w×h plane from a cw×ch chroma plane with
// libjpeg's h2v1/h1v2/h2v2 triangle filters (edge rows replicated, edge
// columns special-cased as jdsample.c does); other factors replicate samples
// (libjpeg's int_upsample).
func upsampleFancy(p []uint8, stride, cw, ch, hs, vs, w, h int) []uint8 {
	out := make([]uint8, w*h)
	crow := func(y int) []uint8 {
		y = max(0, min(y, ch-1))
		return p[y*stride : y*stride+cw]
	}
	if hs > 2 || vs > 2 || (hs == 1 && vs == 1) {
		for y := 0; y < h; y++ {
			src, dst := crow(y/vs), out[y*w:(y+1)*w]
			for x := range dst {
				dst[x] = src[x/hs]
			}
		}
		return out
	}
	cs := make([]int32, cw) // per chroma column: nearer row ·3 + farther row (or the sample itself)
	for y := 0; y < h; y++ {
		cy := y / vs
		near := crow(cy)
		if vs == 2 {
			// even output rows blend with the chroma row above, odd ones with the row below
			far := crow(cy - 1)
			if y%2 == 1 {
				far = crow(cy + 1)
			}
			far = far[:len(near)]
			for i, v := range near {
				cs[i] = int32(v)*3 + int32(far[i])
			}
		} else {
			for i, v := range near {
				cs[i] = int32(v)
			}
		}
		dst := out[y*w : (y+1)*w]
		switch {
		case hs == 2 && vs == 2: // h2v2: 9/16, 3/16, 3/16, 1/16
			for x := range dst {
				cx := x >> 1
				var v int32
				if x&1 == 0 {
					if cx == 0 {
						v = (cs[0]*4 + 8) >> 4
					} else {
						v = (cs[cx]*3 + cs[cx-1] + 8) >> 4
					}
				} else if cx == cw-1 {
					v = (cs[cx]*4 + 7) >> 4
				} else {
					v = (cs[cx]*3 + cs[cx+1] + 7) >> 4
				}
				dst[x] = uint8(v)
			}
		case hs == 2: // h2v1: 3/4, 1/4
			for x := range dst {
				cx := x >> 1
				c := cs[cx]
				switch {
				case x&1 == 0 && cx == 0, x&1 == 1 && cx == cw-1:
					dst[x] = uint8(c)
				case x&1 == 0:
					dst[x] = uint8((c*3 + cs[cx-1] + 1) >> 2)
				default:
					dst[x] = uint8((c*3 + cs[cx+1] + 2) >> 2)
				}
			}
		default: // h1v2
			bias := int32(1)
			if y%2 == 1 {
				bias = 2
			}
			for x := range dst {
				dst[x] = uint8((cs[x] + bias) >> 2)
			}
		}
	}
	return out
}
