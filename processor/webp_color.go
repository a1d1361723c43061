package processor

import "image"

// Lossy WebP is VP8 YUV 4:2:0 in limited (BT.601 "studio") range. Pillow gets
// RGB from libwebp, which upsamples chroma with its own "fancy" filter and
// converts with 14-bit fixed point; x/image/webp hands back the planes, and
// image/color would treat them as full-range JFIF (colours off by up to ~50).
// This file copies libwebp 1.2.4 (src/dec/io_dec.c EmitFancyRGB,
// src/dsp/upsampling.c UPSAMPLE_FUNC, src/dsp/yuv.h VP8YUVToRGB).

const (
	webpYUVFix2  = 6
	webpYUVMask2 = (256 << webpYUVFix2) - 1
)

func webpMultHi(v, coeff int32) int32 { return (v * coeff) >> 8 }

func webpClip8(v int32) uint8 {
	if v&^webpYUVMask2 == 0 {
		return uint8(v >> webpYUVFix2)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func webpYUVToRGB(y, u, v uint8, dst []uint8) {
	Y, U, V := int32(y), int32(u), int32(v)
	yy := webpMultHi(Y, 19077)
	dst[0] = webpClip8(yy + webpMultHi(V, 26149) - 14234)
	dst[1] = webpClip8(yy - webpMultHi(U, 6419) - webpMultHi(V, 13320) + 8708)
	dst[2] = webpClip8(yy + webpMultHi(U, 33050) - 17685)
}

// webpYCbCrToRGB converts a decoded lossy WebP the way libwebp's default
// (fancy-upsampling) RGB output does.
func webpYCbCrToRGB(out *RGBImage, s *image.YCbCr) {
	if s.SubsampleRatio != image.YCbCrSubsampleRatio420 || s.Rect.Min != (image.Point{}) {
		ycbcrToRGB(out, s)
		return
	}
	w, h := out.Width, out.Height
	uvw := (w + 1) / 2
	yrow := func(y int) []uint8 { return s.Y[y*s.YStride : y*s.YStride+w] }
	crow := func(p []uint8, y int) []uint8 { return p[y*s.CStride : y*s.CStride+uvw] }
	orow := func(y int) []uint8 { return out.Pix[y*w*3 : (y+1)*w*3] }
	// Row 0 alone (chroma row 0 mirrored), then row pairs (2k-1, 2k) between
	// chroma rows k-1 and k, then the last row of an even height alone.
	webpUpsamplePair(yrow(0), nil, crow(s.Cb, 0), crow(s.Cr, 0), crow(s.Cb, 0), crow(s.Cr, 0), orow(0), nil, w)
	k := 1
	for ; 2*k < h; k++ {
		webpUpsamplePair(yrow(2*k-1), yrow(2*k), crow(s.Cb, k-1), crow(s.Cr, k-1), crow(s.Cb, k), crow(s.Cr, k), orow(2*k-1), orow(2*k), w)
	}
	if h%2 == 0 {
		c := h/2 - 1
		webpUpsamplePair(yrow(h-1), nil, crow(s.Cb, c), crow(s.Cr, c), crow(s.Cb, c), crow(s.Cr, c), orow(h-1), nil, w)
	}
}

// webpUpsamplePair is libwebp's UPSAMPLE_FUNC for one pair of output rows
// (bottom may be nil): chroma between the "top" and "cur" chroma rows.
func webpUpsamplePair(topY, botY, topU, topV, curU, curV, topDst, botDst []uint8, n int) {
	last := (n - 1) >> 1
	tlU, tlV := int32(topU[0]), int32(topV[0])
	lU, lV := int32(curU[0]), int32(curV[0])
	webpYUVToRGB(topY[0], uint8((3*tlU+lU+2)>>2), uint8((3*tlV+lV+2)>>2), topDst[0:3])
	if botY != nil {
		webpYUVToRGB(botY[0], uint8((3*lU+tlU+2)>>2), uint8((3*lV+tlV+2)>>2), botDst[0:3])
	}
	for x := 1; x <= last; x++ {
		tU, tV := int32(topU[x]), int32(topV[x])
		cU, cV := int32(curU[x]), int32(curV[x])
		avgU := tlU + tU + lU + cU + 8
		avgV := tlV + tV + lV + cV + 8
		d12U, d12V := (avgU+2*(tU+lU))>>3, (avgV+2*(tV+lV))>>3
		d03U, d03V := (avgU+2*(tlU+cU))>>3, (avgV+2*(tlV+cV))>>3
		i0, i1 := 2*x-1, 2*x
		webpYUVToRGB(topY[i0], uint8((d12U+tlU)>>1), uint8((d12V+tlV)>>1), topDst[i0*3:i0*3+3])
		webpYUVToRGB(topY[i1], uint8((d03U+tU)>>1), uint8((d03V+tV)>>1), topDst[i1*3:i1*3+3])
		if botY != nil {
			webpYUVToRGB(botY[i0], uint8((d03U+lU)>>1), uint8((d03V+lV)>>1), botDst[i0*3:i0*3+3])
			webpYUVToRGB(botY[i1], uint8((d12U+cU)>>1), uint8((d12V+cV)>>1), botDst[i1*3:i1*3+3])
		}
		tlU, tlV, lU, lV = tU, tV, cU, cV
	}
	if n&1 == 0 {
		i := n - 1
		webpYUVToRGB(topY[i], uint8((3*tlU+lU+2)>>2), uint8((3*tlV+lV+2)>>2), topDst[i*3:i*3+3])
		if botY != nil {
			webpYUVToRGB(botY[i], uint8((3*lU+tlU+2)>>2), uint8((3*lV+tlV+2)>>2), botDst[i*3:i*3+3])
		}
	}
}
