package graph

import (
	"fmt"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// InterpPosEmbed records ViLT's per-sample image position embeddings (README §3.4): the
// [pd, pd, D] grid (position_embeddings[0, 1:] viewed as [pd, pd, D] or [pd·pd, D]) is resized
// for sample b to (h_b, w_b) = (sizes[b,0], sizes[b,1]) with bilinear interpolation,
// align_corners=True, and zero-padded at the bottom and right to dst [B, Hp, Wp, D] (4-D;
// View a [B, Hp·Wp, D] tensor as such). sizes is int32 [B, 2]; sizes outside [0, Hp] × [0, Wp]
// clamp there. PatchGridSizes computes sizes on the device from the patch mask; a host that
// knows the pixel masks can upload them instead. With D % 4 == 0 and 16-byte aligned grid and
// output, 4 channels per invocation are read through a texel buffer (interp_pos_tex.comp).
func (k *Kernels) InterpPosEmbed(rec *gpu.Recorder, dst, grid, sizes Tensor) error {
	return k.interpPosEmbed(rec, dst, grid, sizes, k.choice.ElementwiseTexel)
}

func (k *Kernels) interpPosEmbed(rec *gpu.Recorder, dst, grid, sizes Tensor, allowTexel bool) error {
	const op = "interp pos embed"
	if err := hasBuf(op, map[string]Tensor{"dst": dst, "grid": grid, "sizes": sizes}); err != nil {
		return err
	}
	if len(dst.Shape) != 4 {
		return fmt.Errorf("%s: dst has shape %v, want [B,Hp,Wp,D]", op, dst.Shape)
	}
	bsz, hp, wp, d := dst.Shape[0], dst.Shape[1], dst.Shape[2], dst.Shape[3]
	if err := joinErr(checkDType(op, "dst", dst, F32), checkDType(op, "grid", grid, F32), checkDType(op, "sizes", sizes, I32),
		checkShape(op, "sizes", sizes, bsz, 2), checkElems(op, dst.Len())); err != nil {
		return err
	}
	var pd int
	switch {
	case len(grid.Shape) == 3 && grid.Shape[0] == grid.Shape[1] && grid.Shape[2] == d:
		pd = grid.Shape[0]
	case len(grid.Shape) == 2 && grid.Shape[1] == d:
		pd = isqrt(grid.Shape[0])
		if pd*pd != grid.Shape[0] {
			return fmt.Errorf("%s: grid %v has %d cells, not a square", op, grid.Shape, grid.Shape[0])
		}
	default:
		return fmt.Errorf("%s: grid has shape %v, want [pd,pd,%d] or [pd·pd,%d]", op, grid.Shape, d, d)
	}
	if allowTexel && d%4 == 0 {
		tb := k.texelBinder()
		gofs := tb.tex(grid)
		bs, so, err := k.bindAt(op, "sizes", sizes)
		if err != nil {
			return err
		}
		tb.binds = append(tb.binds, bs)
		yo := tb.vec4(op, "dst", dst)
		if tb.ok {
			kern, err := k.kernel1D("interp_pos_tex", []gpu.BindingKind{tex, rd, wr}, 32)
			if err != nil {
				return err
			}
			const chunk = 16 // texels per invocation (CHUNK in the shader)
			items := bsz * hp * wp * ((d/4 + chunk - 1) / chunk)
			push := gpu.Push(uint32(items), uint32(d/4), uint32(hp), uint32(wp), uint32(pd), gofs/4, so, yo/4)
			return k.dispatch1D(rec, kern, items, push, tb.binds)
		}
	}
	kern, err := k.kernel1D("interp_pos", []gpu.BindingKind{rd, rd, wr}, 32)
	if err != nil {
		return err
	}
	bd := k.binder(op)
	gofs := bd.add("grid", grid)
	so := bd.add("sizes", sizes)
	yo := bd.add("dst", dst)
	if bd.err != nil {
		return bd.err
	}
	n := dst.Len()
	push := gpu.Push(uint32(n), uint32(d), uint32(hp), uint32(wp), uint32(pd), gofs, so, yo)
	return k.dispatch1D(rec, kern, n, push, bd.binds)
}

func isqrt(n int) int {
	r := 0
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}
