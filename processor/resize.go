package processor

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// This file reproduces the resampling Pillow 9.4 applies to 8-bit RGB, as the golden
// README describes it: a separable two-pass convolution, horizontal first with a uint8
// intermediate, with coefficients in 22-bit fixed point. Every floating-point step keeps C's order and rounding
// (explicit float64 conversions stop Go from fusing multiply-adds), so the
// output is byte-identical to Image.resize.

const precisionBits = 32 - 8 - 2

type resampleFilter struct {
	fn      func(float64) float64
	support float64
}

func bicubicFilter(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return float64(float64(float64(float64((a+2)*x)-(a+3))*x)*x) + 1
	}
	if x < 2 {
		return float64(float64(float64(float64(float64(x-5)*x)+8)*x)-4) * a
	}
	return 0
}

func boxFilter(x float64) float64 {
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

func bilinearFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

// hammingFilter and lanczosFilter use math.Sin/Cos, which may differ from C's
// libm in the last bit; a rare off-by-one output byte is possible for them.
func hammingFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x == 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	x = float64(x * math.Pi)
	return float64(math.Sin(x)/x) * float64(0.54+float64(0.46*math.Cos(x)))
}

func sincFilter(x float64) float64 {
	if x == 0 {
		return 1
	}
	x = float64(x * math.Pi)
	return math.Sin(x) / x
}

func lanczosFilter(x float64) float64 {
	if -3 <= x && x < 3 {
		return float64(sincFilter(x) * sincFilter(x/3))
	}
	return 0
}

var filters = map[Resample]resampleFilter{
	ResampleBox:      {boxFilter, 0.5},
	ResampleBilinear: {bilinearFilter, 1},
	ResampleHamming:  {hammingFilter, 1},
	ResampleBicubic:  {bicubicFilter, 2},
	ResampleLanczos:  {lanczosFilter, 3},
}

// coeffs are one axis' fixed-point weights: output i reads inputs
// [bounds[2i], bounds[2i]+bounds[2i+1]) with weights k[i*ksize:].
type coeffs struct {
	ksize  int
	bounds []int
	k      []int32
}

// precomputeCoeffs is Pillow's precompute_coeffs + normalize_coeffs_8bpc for the box [0, inSize).
func precomputeCoeffs(inSize, outSize int, f resampleFilter) coeffs {
	scale := float64(float32(inSize)) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := float64(f.support * filterscale)
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, outSize*2), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	ss := 1.0 / filterscale
	for xx := 0; xx < outSize; xx++ {
		center := float64(float64(xx)+0.5) * scale
		xmin := int(float64(center-support) + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(float64(center+support) + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			v := f.fn(float64(float64(float64(x+xmin)-center)+0.5) * ss)
			w[x] = v
			ww += v
		}
		k := c.k[xx*ksize : (xx+1)*ksize]
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		c.bounds[xx*2] = xmin
		c.bounds[xx*2+1] = xmax
	}
	return c
}

func clip8(v int32) uint8 {
	if v >= 1<<precisionBits<<8 {
		return 255
	}
	if v <= 0 {
		return 0
	}
	return uint8(v >> precisionBits)
}

// ResizeRGB resizes like Pillow's Image.resize((w, h), filter) on an RGB image
// (no reducing_gap). The same size returns a copy, as Pillow does.
func ResizeRGB(img *RGBImage, w, h int, filter Resample) (*RGBImage, error) {
	out := NewRGBImage(max(w, 0), max(h, 0))
	err := resizeRows(img, w, h, filter, func(y int, row []uint8) {
		copy(out.Pix[y*w*3:(y+1)*w*3], row)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// resizeRows resizes img to w×h and hands each output row to emit (possibly
// from several goroutines at once, each with its own rows). The row slice is
// only valid during the call.
func resizeRows(img *RGBImage, w, h int, filter Resample, emit func(y int, row []uint8)) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: resize %dx%d to %dx%d: height and width must be > 0", ErrImageTooThin, img.Width, img.Height, w, h)
	}
	if img.Width <= 0 || img.Height <= 0 || len(img.Pix) < img.Width*img.Height*3 {
		return fmt.Errorf("%w: %dx%d with %d bytes", ErrEmptyImage, img.Width, img.Height, len(img.Pix))
	}
	emitAll := func(m *RGBImage) {
		parallelRows(m.Height, m.Width*m.Height, func(y0, y1 int) {
			for y := y0; y < y1; y++ {
				emit(y, m.Pix[y*m.Width*3:(y+1)*m.Width*3])
			}
		})
	}
	if w == img.Width && h == img.Height {
		emitAll(img)
		return nil
	}
	if filter == ResampleNearest {
		emitAll(resizeNearest(img, w, h))
		return nil
	}
	f, ok := filters[filter]
	if !ok {
		return fmt.Errorf("resize: unknown filter %d", int(filter))
	}
	src := img
	var vc coeffs
	if h != img.Height {
		vc = precomputeCoeffs(img.Height, h, f)
	}
	if w != img.Width {
		hc := precomputeCoeffs(img.Width, w, f)
		rowFirst, rowLast := 0, img.Height
		if h != img.Height {
			// Only the rows the vertical pass reads (Pillow's ybox_first/last).
			rowFirst = vc.bounds[0]
			rowLast = vc.bounds[(h-1)*2] + vc.bounds[(h-1)*2+1]
			for i := 0; i < h; i++ {
				vc.bounds[i*2] -= rowFirst
			}
		}
		tmp := NewRGBImage(w, rowLast-rowFirst)
		parallelRows(tmp.Height, w*tmp.Height, func(y0, y1 int) {
			resampleHorizontal(tmp, img, rowFirst, y0, y1, &hc)
		})
		if h == img.Height {
			emitAll(tmp)
			return nil
		}
		src = tmp
	}
	parallelRows(h, src.Width*h, func(y0, y1 int) { resampleVertical(src, y0, y1, &vc, emit) })
	return nil
}

// parallelRows splits [0, rows) over the CPUs when the job is big enough to pay for it.
func parallelRows(rows, work int, fn func(y0, y1 int)) {
	n := runtime.GOMAXPROCS(0)
	if n > rows {
		n = rows
	}
	if n <= 1 || work < 64*1024 {
		fn(0, rows)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		y0, y1 := rows*i/n, rows*(i+1)/n
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(y0, y1)
		}()
	}
	wg.Wait()
}

// resampleHorizontal writes out rows [y0, y1) from input rows offset+y,
// two rows per sweep so each coefficient load serves six sums.
func resampleHorizontal(out, in *RGBImage, offset, y0, y1 int, c *coeffs) {
	inStride, outStride := in.Width*3, out.Width*3
	const bias = int32(1 << (precisionBits - 1))
	y := y0
	for ; y+1 < y1; y += 2 {
		srcA := in.Pix[(y+offset)*inStride : (y+offset+1)*inStride]
		srcB := in.Pix[(y+offset+1)*inStride : (y+offset+2)*inStride]
		dstA := out.Pix[y*outStride : (y+1)*outStride]
		dstB := out.Pix[(y+1)*outStride : (y+2)*outStride]
		dstB = dstB[:len(dstA)]
		for o := 0; o < out.Width; o++ {
			xmin, n := c.bounds[o*2], c.bounds[o*2+1]
			k := c.k[o*c.ksize : o*c.ksize+n]
			a := srcA[xmin*3 : (xmin+n)*3]
			b := srcB[xmin*3 : (xmin+n)*3]
			a0, a1, a2 := bias, bias, bias
			b0, b1, b2 := bias, bias, bias
			for _, kj := range k {
				if len(a) < 3 || len(b) < 3 {
					break
				}
				a0 += int32(a[0]) * kj
				a1 += int32(a[1]) * kj
				a2 += int32(a[2]) * kj
				b0 += int32(b[0]) * kj
				b1 += int32(b[1]) * kj
				b2 += int32(b[2]) * kj
				a, b = a[3:], b[3:]
			}
			d := dstA[o*3 : o*3+3]
			d[0], d[1], d[2] = clip8(a0), clip8(a1), clip8(a2)
			d = dstB[o*3 : o*3+3]
			d[0], d[1], d[2] = clip8(b0), clip8(b1), clip8(b2)
		}
	}
	for ; y < y1; y++ {
		src := in.Pix[(y+offset)*inStride : (y+offset+1)*inStride]
		dst := out.Pix[y*outStride : (y+1)*outStride]
		for o := 0; o < out.Width; o++ {
			xmin, n := c.bounds[o*2], c.bounds[o*2+1]
			k := c.k[o*c.ksize : o*c.ksize+n]
			s := src[xmin*3 : (xmin+n)*3]
			ss0, ss1, ss2 := bias, bias, bias
			for _, kj := range k {
				if len(s) < 3 {
					break
				}
				ss0 += int32(s[0]) * kj
				ss1 += int32(s[1]) * kj
				ss2 += int32(s[2]) * kj
				s = s[3:]
			}
			d := dst[o*3 : o*3+3]
			d[0], d[1], d[2] = clip8(ss0), clip8(ss1), clip8(ss2)
		}
	}
}

// resampleVertical computes output rows [y0, y1) and emits them. It
// accumulates whole input rows, four taps per sweep to keep the accumulator
// traffic down.
func resampleVertical(in *RGBImage, y0, y1 int, c *coeffs, emit func(int, []uint8)) {
	stride := in.Width * 3
	acc := make([]int32, stride)
	dst := make([]uint8, stride)
	row := func(i int) []uint8 { return in.Pix[i*stride : (i+1)*stride] }
	for y := y0; y < y1; y++ {
		ymin, n := c.bounds[y*2], c.bounds[y*2+1]
		k := c.k[y*c.ksize : y*c.ksize+n]
		for i := range acc {
			acc[i] = 1 << (precisionBits - 1)
		}
		j := 0
		for ; j+4 <= len(k); j += 4 {
			r0, r1, r2, r3 := row(ymin+j), row(ymin+j+1), row(ymin+j+2), row(ymin+j+3)
			k0, k1, k2, k3 := k[j], k[j+1], k[j+2], k[j+3]
			r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
			a := acc[:len(r0)]
			for i, v := range r0 {
				a[i] += int32(v)*k0 + int32(r1[i])*k1 + int32(r2[i])*k2 + int32(r3[i])*k3
			}
		}
		for ; j+2 <= len(k); j += 2 {
			r0, r1 := row(ymin+j), row(ymin+j+1)
			k0, k1 := k[j], k[j+1]
			r1 = r1[:len(r0)]
			a := acc[:len(r0)]
			for i, v := range r0 {
				a[i] += int32(v)*k0 + int32(r1[i])*k1
			}
		}
		if j < len(k) {
			r0, k0 := row(ymin+j), k[j]
			a := acc[:len(r0)]
			for i, v := range r0 {
				a[i] += int32(v) * k0
			}
		}
		dst := dst[:len(acc)]
		for i, v := range acc {
			dst[i] = clip8(v)
		}
		emit(y, dst)
	}
}

// resizeNearest is Pillow's NEAREST resize (ImagingScaleAffine): source index
// int(scale·(x+0.5)).
func resizeNearest(img *RGBImage, w, h int) *RGBImage {
	out := NewRGBImage(w, h)
	xs := float64(float32(img.Width)) / float64(w)
	ys := float64(float32(img.Height)) / float64(h)
	xin := make([]int, w)
	for x := range xin {
		xin[x] = min(int(float64(xs*(float64(x)+0.5))), img.Width-1)
	}
	for y := 0; y < h; y++ {
		sy := min(int(float64(ys*(float64(y)+0.5))), img.Height-1)
		src := img.Pix[sy*img.Width*3:]
		dst := out.Pix[y*w*3:]
		for x, sx := range xin {
			copy(dst[x*3:x*3+3], src[sx*3:sx*3+3])
		}
	}
	return out
}
