package processor

import (
	"image"

	"github.com/vilt-vk/vilt-vk/processor/internal/jpeg"
)

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
	cb := jpeg.UpsampleFancy(s.Cb, s.CStride, cw, ch, hs, vs, w, h)
	cr := jpeg.UpsampleFancy(s.Cr, s.CStride, cw, ch, hs, vs, w, h)
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
