package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/graph/ref"
)

func TestIm2col(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(19, 1))
	for _, c := range []struct{ b, ch, h, w, p, pad int }{
		{1, 1, 1, 1, 1, 0},
		{1, 3, 64, 64, 32, 0},
		{2, 3, 96, 128, 32, 1},
		{2, 3, 70, 45, 16, 0}, // pixels past Hp·P, Wp·P are ignored
		{1, 3, 33, 7, 7, 3},
		{1, 3, 384, 608, 32, 0}, // ViLT-B/32's largest image: 12×19 patches
		{2, 3, 36, 44, 8, 4},
		{1, 3, 64, 66, 16, 0}, // W not a multiple of 4: scalar kernel
	} {
		for _, texel := range []bool{true, false} {
			name := fmt.Sprintf("B%d_C%d_%dx%d_P%d_pad%d_texel%v", c.b, c.ch, c.h, c.w, c.p, c.pad, texel)
			t.Run(name, func(t *testing.T) {
				pix := randn(r, c.b*c.ch*c.h*c.w, 1)
				hp, wp := PatchGrid(c.h, c.w, c.p)
				kd := c.ch * c.p * c.p
				xt := upF32At(t, k, c.pad, pix, c.b, c.ch, c.h, c.w)
				out := newOutAt(t, k, c.pad, c.b*hp*wp, kd)
				fast := c.p%4 == 0 && c.w%4 == 0 && c.pad%4 == 0 && texelFits(k, xt)
				checkPath(t, k, texelPath("im2col", texel, fast), func(rec *gpu.Recorder) error { return k.im2col(rec, out.Tensor, xt, c.p, texel) })
				if e := nmse(out.readPadded(t, k, c.pad), ref.Im2col(pix, c.b, c.ch, c.h, c.w, c.p)); e != 0 {
					t.Errorf("nmse %.3g, want exact", e)
				}
			})
		}
	}
	t.Run("errors", func(t *testing.T) {
		x := upF32(t, k, make([]float32, 3*8*8), 1, 3, 8, 8)
		out := newOut(t, k, 4, 48)
		rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
		must(t, err)
		defer rec.Close()
		for name, err := range map[string]error{
			"patch 0":   k.Im2col(rec, out.Tensor, x, 0),
			"patch big": k.Im2col(rec, out.Tensor, x, 9),
			"dst shape": k.Im2col(rec, out.Tensor, x, 2),
			"3-D":       k.Im2col(rec, out.Tensor, x.View(0, 3, 8, 8), 4),
		} {
			if err == nil {
				t.Errorf("%s: no error", name)
			}
		}
		if err := k.Im2col(rec, out.Tensor, x, 4); err != nil {
			t.Errorf("valid call: %v", err)
		}
	})
}

// TestPatchConvReference checks the two Go references of the patch embedding against each
// other: Im2col · weightᵀ + bias (what the GPU does, with the GEMM) equals the Conv2d.
func TestPatchConvReference(t *testing.T) {
	r := rand.New(rand.NewPCG(20, 1))
	const b, ch, h, w, p, d = 2, 3, 70, 45, 16, 5
	pix := randn(r, b*ch*h*w, 1)
	wt := randn(r, d*ch*p*p, 0.05)
	bias := randn(r, d, 0.1)
	conv := ref.PatchConv(pix, wt, bias, b, ch, h, w, p, d)
	cols := ref.Im2col(pix, b, ch, h, w, p)
	mm := ref.Linear(cols, wt, bias, nil, len(cols)/(ch*p*p), d, ch*p*p, ref.ActNone)
	if e := nmse(mm, conv); e > 1e-13 {
		t.Errorf("im2col·Wᵀ+b vs conv: nmse %.3g", e)
	}
}

func TestPatchMask(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(21, 1))
	for _, c := range []struct{ b, h, w, hp, wp, pad int }{
		{1, 1, 1, 1, 1, 0},
		{2, 96, 128, 3, 4, 0},    // processor output, P = 32
		{2, 128, 128, 8, 8, 1},   // P = 16
		{3, 384, 608, 12, 19, 0}, // ViLT-B/32's largest
		{1, 70, 45, 4, 2, 3},     // not multiples of P: legacy nearest picks floor(r·H/Hp)
		{2, 33, 7, 7, 5, 0},      // upsampling along x
		{1, 201, 269, 201, 269, 0},
	} {
		name := fmt.Sprintf("B%d_%dx%d_to_%dx%d_pad%d", c.b, c.h, c.w, c.hp, c.wp, c.pad)
		t.Run(name, func(t *testing.T) {
			mask := make([]int32, c.b*c.h*c.w)
			for i := range mask {
				mask[i] = int32(r.IntN(2))
			}
			mt := upI32At(t, k, c.pad, mask, c.b, c.h, c.w)
			out := newOutAt(t, k, c.pad, c.b, c.hp, c.wp)
			run(t, k, func(rec *gpu.Recorder) error { return k.PatchMask(rec, out.Tensor, mt) })
			if e := nmse(out.readPadded(t, k, c.pad), ref.PatchMask(mask, c.b, c.h, c.w, c.hp, c.wp)); e != 0 {
				t.Errorf("nmse %.3g, want exact", e)
			}
		})
	}
}

// TestPatchGridSizes runs the image-side mask path on processor-style masks (top-left valid
// rectangles): pixel mask → patch mask → (x_h, x_w) per sample.
func TestPatchGridSizes(t *testing.T) {
	k := newTestKernels(t)
	const b, h, w, p = 4, 128, 192, 32
	valid := [][2]int{{128, 192}, {64, 96}, {96, 32}, {32, 192}} // per-sample image size (h, w)
	mask := make([]int32, b*h*w)
	for s, v := range valid {
		for y := 0; y < v[0]; y++ {
			for x := 0; x < v[1]; x++ {
				mask[(s*h+y)*w+x] = 1
			}
		}
	}
	hp, wp := PatchGrid(h, w, p)
	mt := upI32(t, k, mask, b, h, w)
	pm := newOut(t, k, b, hp, wp)
	sizes := newOut(t, k, b, 2)
	sizes.DType = I32
	run(t, k, func(rec *gpu.Recorder) error {
		return joinErr(k.PatchMask(rec, pm.Tensor, mt), k.PatchGridSizes(rec, sizes.Tensor, pm.Tensor))
	})
	gotPM := pm.read(t, k)
	if e := nmse(gotPM, ref.PatchMask(mask, b, h, w, hp, wp)); e != 0 {
		t.Errorf("patch mask: nmse %.3g", e)
	}
	got := asI32(sizes.read(t, k))
	want := ref.PatchGridSizes(gotPM, b, hp, wp)
	for s, v := range valid {
		if got[2*s] != want[2*s] || got[2*s+1] != want[2*s+1] || int(got[2*s]) != v[0]/p || int(got[2*s+1]) != v[1]/p {
			t.Errorf("sample %d: sizes %v, want %v (valid image %v)", s, got[2*s:2*s+2], want[2*s:2*s+2], v)
		}
	}
}

func TestPatchOpsErrors(t *testing.T) {
	k := newTestKernels(t)
	mask := upI32(t, k, make([]int32, 2*8*8), 2, 8, 8)
	fmask := upF32(t, k, make([]float32, 2*8*8), 2, 8, 8)
	pm := newOut(t, k, 2, 2, 2)
	sizes := upI32(t, k, []int32{2, 2, 1, 1}, 2, 2)
	grid := upF32(t, k, make([]float32, 4*8), 4, 8)
	grid3 := upF32(t, k, make([]float32, 3*8), 3, 8)
	pos := newOut(t, k, 2, 2, 2, 8)
	rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer rec.Close()
	for name, err := range map[string]error{
		"mask dtype":      k.PatchMask(rec, pm.Tensor, fmask),
		"mask batch":      k.PatchMask(rec, pm.View(0, 1, 2, 2), mask),
		"mask rank":       k.PatchMask(rec, pm.Tensor, mask.View(0, 2, 64)),
		"sizes dtype":     k.PatchGridSizes(rec, pm.View(0, 2, 2), pm.Tensor),
		"sizes shape":     k.PatchGridSizes(rec, sizes.View(0, 4), pm.Tensor),
		"grid not square": k.InterpPosEmbed(rec, pos.Tensor, grid3, sizes),
		"grid width":      k.InterpPosEmbed(rec, pos.Tensor, grid.View(0, 8, 4), sizes),
		"dst rank":        k.InterpPosEmbed(rec, pos.View(0, 2, 4, 8), grid, sizes),
		"sizes batch":     k.InterpPosEmbed(rec, pos.Tensor, grid, sizes.View(0, 1, 2)),
		"sizes float":     k.InterpPosEmbed(rec, pos.Tensor, grid, grid.View(0, 2, 2)),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for name, err := range map[string]error{
		"mask":   k.PatchMask(rec, pm.Tensor, mask),
		"sizes":  k.PatchGridSizes(rec, sizes, pm.Tensor),
		"interp": k.InterpPosEmbed(rec, pos.Tensor, grid, sizes),
	} {
		if err != nil {
			t.Errorf("valid %s: %v", name, err)
		}
	}
}

func TestInterpPosEmbed(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(22, 1))
	for _, c := range []struct {
		pd, d, hp, wp int
		sizes         []int32
		pad           int
	}{
		{1, 1, 1, 1, []int32{1, 1}, 0},
		{2, 32, 3, 4, []int32{3, 4, 2, 3}, 0},               // tiny p32, case 2
		{4, 32, 6, 8, []int32{6, 8, 4, 6, 1, 1, 4, 4}, 1},   // p16; 4×4 is a copy
		{12, 768, 12, 19, []int32{12, 16, 12, 19, 7, 1}, 0}, // ViLT-B/32
		{12, 33, 20, 20, []int32{20, 3, 0, 5, 25, -2}, 3},   // out-of-range sizes clamp
	} {
		for _, texel := range []bool{true, false} {
			bsz := len(c.sizes) / 2
			name := fmt.Sprintf("pd%d_D%d_%dx%d_B%d_pad%d_texel%v", c.pd, c.d, c.hp, c.wp, bsz, c.pad, texel)
			t.Run(name, func(t *testing.T) {
				grid := randn(r, c.pd*c.pd*c.d, 0.5)
				gt := upF32At(t, k, c.pad, grid, c.pd*c.pd, c.d)
				st := upI32At(t, k, c.pad+1, c.sizes, bsz, 2)
				out := newOutAt(t, k, c.pad, bsz, c.hp, c.wp, c.d)
				fast := c.d%4 == 0 && c.pad%4 == 0
				checkPath(t, k, texelPath("interp_pos", texel, fast), func(rec *gpu.Recorder) error {
					return k.interpPosEmbed(rec, out.Tensor, gt, st, texel)
				})
				got := out.readPadded(t, k, c.pad)
				want := ref.InterpPosEmbed(grid, c.pd, c.d, c.sizes, c.hp, c.wp)
				e := checkNMSE(t, name, got, want, tolElementwise)
				t.Logf("nmse %.3g max abs diff %.3g", e, maxAbsDiff(got, want))
				// A grid already of the right size is copied exactly.
				for b := 0; b < bsz; b++ {
					if int(c.sizes[2*b]) == c.pd && int(c.sizes[2*b+1]) == c.pd {
						for i := 0; i < c.pd; i++ {
							for j := 0; j < c.pd; j++ {
								for q := 0; q < c.d; q++ {
									if g, w := got[((b*c.hp+i)*c.wp+j)*c.d+q], grid[(i*c.pd+j)*c.d+q]; g != w {
										t.Fatalf("sample %d: same-size grid not copied exactly (%g vs %g)", b, g, w)
									}
								}
							}
						}
					}
				}
			})
		}
	}
}
