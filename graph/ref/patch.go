package ref

import "math"

// Im2col returns the patch matrix [B·Hp·Wp, C·P·P] of pixels [B, C, H, W] for a Conv2d with
// kernel = stride = p and no padding: row b·Hp·Wp + r·Wp + c is patch (r, c) of image b in
// (channel, y, x) order; Hp = H/p, Wp = W/p floored.
func Im2col(pix []float32, bsz, ch, h, w, p int) []float32 {
	hp, wp := h/p, w/p
	kd := ch * p * p
	y := make([]float32, bsz*hp*wp*kd)
	for b := 0; b < bsz; b++ {
		for r := 0; r < hp; r++ {
			for c := 0; c < wp; c++ {
				row := (b*hp+r)*wp + c
				k := 0
				for cc := 0; cc < ch; cc++ {
					for dy := 0; dy < p; dy++ {
						for dx := 0; dx < p; dx++ {
							y[row*kd+k] = pix[((b*ch+cc)*h+r*p+dy)*w+c*p+dx]
							k++
						}
					}
				}
			}
		}
	}
	return y
}

// PatchConv is ViLT's patch embedding as the Conv2d itself (README §3.2), computed directly
// in float64: weight [D, C, P, P], bias [D], pixels [B, C, H, W] → [B, Hp, Wp, D] (channels
// last, i.e. the rows of Im2col · weightᵀ + bias).
func PatchConv(pix, weight, bias []float32, bsz, ch, h, w, p, d int) []float32 {
	hp, wp := h/p, w/p
	y := make([]float32, bsz*hp*wp*d)
	for b := 0; b < bsz; b++ {
		for r := 0; r < hp; r++ {
			for c := 0; c < wp; c++ {
				for o := 0; o < d; o++ {
					acc := float64(bias[o])
					for cc := 0; cc < ch; cc++ {
						for dy := 0; dy < p; dy++ {
							for dx := 0; dx < p; dx++ {
								acc += float64(weight[((o*ch+cc)*p+dy)*p+dx]) * float64(pix[((b*ch+cc)*h+r*p+dy)*w+c*p+dx])
							}
						}
					}
					y[((b*hp+r)*wp+c)*d+o] = float32(acc)
				}
			}
		}
	}
	return y
}

// PatchMask samples an int pixel mask [B, H, W] to the (hp, wp) patch grid with PyTorch's
// legacy nearest rule in float32: sy(r) = min(floor(r · float32(H)/hp), H-1) (same for x).
func PatchMask(mask []int32, bsz, h, w, hp, wp int) []float32 {
	sh := float32(h) / float32(hp)
	sw := float32(w) / float32(wp)
	y := make([]float32, bsz*hp*wp)
	for b := 0; b < bsz; b++ {
		for r := 0; r < hp; r++ {
			sy := min(int(math.Floor(float64(float32(r)*sh))), h-1)
			for c := 0; c < wp; c++ {
				sx := min(int(math.Floor(float64(float32(c)*sw))), w-1)
				y[(b*hp+r)*wp+c] = float32(mask[(b*h+sy)*w+sx])
			}
		}
	}
	return y
}

// PatchGridSizes returns (x_h, x_w) per sample of a patch mask [B, hp, wp]: the number of
// valid patches in column 0 and in row 0, as HF ViLT computes them. Flattened [B, 2].
func PatchGridSizes(pm []float32, bsz, hp, wp int) []int32 {
	s := make([]int32, 2*bsz)
	for b := 0; b < bsz; b++ {
		for r := 0; r < hp; r++ {
			s[2*b] += int32(pm[(b*hp+r)*wp])
		}
		for c := 0; c < wp; c++ {
			s[2*b+1] += int32(pm[b*hp*wp+c])
		}
	}
	return s
}

// InterpPosEmbed resizes the [pd, pd, d] position grid to (sizes[2b], sizes[2b+1]) per sample
// with bilinear interpolation, align_corners=True, in float64, and zero-pads it to
// [B, hp, wp, d] (README §3.4).
func InterpPosEmbed(grid []float32, pd, d int, sizes []int32, hp, wp int) []float32 {
	bsz := len(sizes) / 2
	y := make([]float32, bsz*hp*wp*d)
	src := func(o, out int) (int, int, float64) {
		s := 0.0
		if out > 1 {
			s = float64(o) * float64(pd-1) / float64(out-1)
		}
		i0 := min(int(math.Floor(s)), pd-1)
		i1 := min(i0+1, pd-1)
		return i0, i1, s - float64(i0)
	}
	for b := 0; b < bsz; b++ {
		h := min(max(int(sizes[2*b]), 0), hp)
		w := min(max(int(sizes[2*b+1]), 0), wp)
		for r := 0; r < h; r++ {
			y0, y1, ly := src(r, h)
			for c := 0; c < w; c++ {
				x0, x1, lx := src(c, w)
				for k := 0; k < d; k++ {
					g := func(i, j int) float64 { return float64(grid[(i*pd+j)*d+k]) }
					v := (1-ly)*((1-lx)*g(y0, x0)+lx*g(y0, x1)) + ly*((1-lx)*g(y1, x0)+lx*g(y1, x1))
					y[((b*hp+r)*wp+c)*d+k] = float32(v)
				}
			}
		}
	}
	return y
}
