package processor

import "image"

// libjpeg-turbo (what Pillow decodes JPEG with) upsamples chroma with a
// triangle filter ("fancy upsampling") and converts YCbCr→RGB with its own
// rounding tables; Go's image/jpeg leaves chroma subsampled and image/color
// rounds differently. Reproducing libjpeg's steps on Go's decoded planes
// removes most of the difference; what is left comes from the two IDCTs.

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
// decompressor does (fancy upsampling for 4:2:0, 4:2:2 and 4:4:0).
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
// libjpeg's h2v1/h1v2/h2v2 triangle filters (edges replicated).
func upsampleFancy(p []uint8, stride, cw, ch, hs, vs, w, h int) []uint8 {
	at := func(x, y int) int32 {
		x = max(0, min(x, cw-1))
		y = max(0, min(y, ch-1))
		return int32(p[y*stride+x])
	}
	out := make([]uint8, w*h)
	for y := 0; y < h; y++ {
		row := out[y*w : (y+1)*w]
		cy := y / vs
		// vertical neighbour: the row above for even output rows, below for odd
		ny := cy
		if vs == 2 {
			if y%2 == 0 {
				ny = cy - 1
			} else {
				ny = cy + 1
			}
		}
		for x := range row {
			cx := x / hs
			switch {
			case hs == 2 && vs == 2:
				this := at(cx, cy)*3 + at(cx, ny)
				var v int32
				if x%2 == 0 {
					if cx == 0 {
						v = (this*4 + 8) >> 4
					} else {
						v = (this*3 + at(cx-1, cy)*3 + at(cx-1, ny) + 8) >> 4
					}
				} else {
					if cx == cw-1 {
						v = (this*4 + 7) >> 4
					} else {
						v = (this*3 + at(cx+1, cy)*3 + at(cx+1, ny) + 7) >> 4
					}
				}
				row[x] = uint8(v)
			case hs == 2: // h2v1
				c := at(cx, cy)
				switch {
				case x%2 == 0 && cx == 0, x%2 == 1 && cx == cw-1:
					row[x] = uint8(c)
				case x%2 == 0:
					row[x] = uint8((c*3 + at(cx-1, cy) + 1) >> 2)
				default:
					row[x] = uint8((c*3 + at(cx+1, cy) + 2) >> 2)
				}
			case vs == 2: // h1v2
				c := at(cx, cy)*3 + at(cx, ny)
				if y%2 == 0 {
					row[x] = uint8((c + 1) >> 2)
				} else {
					row[x] = uint8((c + 2) >> 2)
				}
			default:
				row[x] = uint8(at(cx, cy))
			}
		}
	}
	return out
}
