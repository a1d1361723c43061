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
// knows the pixel masks can upload them instead.
func (k *Kernels) InterpPosEmbed(rec *gpu.Recorder, dst, grid, sizes Tensor) error {
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
