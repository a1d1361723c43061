package graph

import (
	"fmt"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// PatchMask records ViLT's patch mask (README §3.3): pixelMask int32 [B, H, W] (the
// processor's int64 mask converted to int32; 1 valid, 0 padding) → dst float32 [B, Hp, Wp],
// dst[b,r,c] = pixelMask[b, sy(r), sx(c)] with PyTorch's legacy nearest rule
// sy(r) = min(floor(r · float32(H)/Hp), H-1) in float32 (the same for x). For processor output
// (H, W multiples of P) this is each patch's top-left pixel. The grid (Hp, Wp) is dst's shape,
// normally PatchGrid(H, W, P).
func (k *Kernels) PatchMask(rec *gpu.Recorder, dst, pixelMask Tensor) error {
	const op = "patch mask"
	if err := hasBuf(op, map[string]Tensor{"dst": dst, "pixelMask": pixelMask}); err != nil {
		return err
	}
	if len(pixelMask.Shape) != 3 {
		return fmt.Errorf("%s: pixel mask has shape %v, want [B,H,W]", op, pixelMask.Shape)
	}
	bsz, h, w := pixelMask.Shape[0], pixelMask.Shape[1], pixelMask.Shape[2]
	if err := joinErr(checkDType(op, "dst", dst, F32), checkDType(op, "pixelMask", pixelMask, I32),
		checkShape(op, "dst", dst, bsz, -1, -1), checkElems(op, pixelMask.Len())); err != nil {
		return err
	}
	hp, wp := dst.Shape[1], dst.Shape[2]
	kern, err := k.kernel1D("patch_mask", []gpu.BindingKind{rd, wr}, 36)
	if err != nil {
		return err
	}
	bd := k.binder(op)
	mo := bd.add("pixelMask", pixelMask)
	yo := bd.add("dst", dst)
	if bd.err != nil {
		return bd.err
	}
	n := dst.Len()
	sh := float32(h) / float32(hp)
	sw := float32(w) / float32(wp)
	push := gpu.Push(uint32(n), uint32(h), uint32(w), uint32(hp), uint32(wp), sh, sw, mo, yo)
	return k.dispatch1D(rec, kern, n, push, bd.binds)
}

// PatchGridSizes records sizes[b] = (x_h, x_w) from a patch mask [B, Hp, Wp] float32: x_h is
// the number of valid patches in column 0 and x_w the number in row 0, as HF ViLT computes
// them (the valid region is assumed to be a top-left rectangle). sizes is int32 [B, 2], the
// input of InterpPosEmbed.
func (k *Kernels) PatchGridSizes(rec *gpu.Recorder, sizes, patchMask Tensor) error {
	const op = "patch grid sizes"
	if err := hasBuf(op, map[string]Tensor{"sizes": sizes, "patchMask": patchMask}); err != nil {
		return err
	}
	if len(patchMask.Shape) != 3 {
		return fmt.Errorf("%s: patch mask has shape %v, want [B,Hp,Wp]", op, patchMask.Shape)
	}
	bsz, hp, wp := patchMask.Shape[0], patchMask.Shape[1], patchMask.Shape[2]
	if err := joinErr(checkDType(op, "sizes", sizes, I32), checkDType(op, "patchMask", patchMask, F32),
		checkShape(op, "sizes", sizes, bsz, 2), checkElems(op, patchMask.Len())); err != nil {
		return err
	}
	kern, err := k.kernel1D("patch_mask_sizes", []gpu.BindingKind{rd, wr}, 20)
	if err != nil {
		return err
	}
	bd := k.binder(op)
	mo := bd.add("patchMask", patchMask)
	so := bd.add("sizes", sizes)
	if bd.err != nil {
		return bd.err
	}
	return k.dispatch1D(rec, kern, bsz, gpu.Push(uint32(bsz), uint32(hp), uint32(wp), mo, so), bd.binds)
}
