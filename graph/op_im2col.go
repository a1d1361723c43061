package graph

import (
	"fmt"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// PatchGrid is the patch grid of a Conv2d with kernel = stride = patch and no padding over an
// h×w image: (h/patch, w/patch), floored.
func PatchGrid(h, w, patch int) (hp, wp int) { return h / patch, w / patch }

// Im2col records the patch matrix of ViLT's patch embedding (README §3.2): pixels
// [B, C, H, W] float32 → dst [B·Hp·Wp, C·P·P] (or any shape with that element count and last
// axis C·P·P), row b·Hp·Wp + r·Wp + c holding patch (r, c) of image b flattened in (channel,
// y, x) order. The conv is then dst · weight[D, C·P·P]ᵀ + bias (a Linear with the Conv2d
// weight reshaped to [D, C·P·P]). Pixels past Hp·P or Wp·P are ignored. With P and W
// multiples of 4 and 16-byte aligned tensors it copies 4 pixels per invocation through a
// texel buffer (im2col_tex.comp).
func (k *Kernels) Im2col(rec *gpu.Recorder, dst, pixels Tensor, patch int) error {
	return k.im2col(rec, dst, pixels, patch, true)
}

func (k *Kernels) im2col(rec *gpu.Recorder, dst, pixels Tensor, patch int, allowTexel bool) error {
	const op = "im2col"
	if err := hasBuf(op, map[string]Tensor{"dst": dst, "pixels": pixels}); err != nil {
		return err
	}
	if len(pixels.Shape) != 4 {
		return fmt.Errorf("%s: pixels have shape %v, want [B,C,H,W]", op, pixels.Shape)
	}
	bsz, c, h, w := pixels.Shape[0], pixels.Shape[1], pixels.Shape[2], pixels.Shape[3]
	if patch <= 0 || patch > h || patch > w {
		return fmt.Errorf("%s: patch size %d for images of %d×%d", op, patch, h, w)
	}
	hp, wp := PatchGrid(h, w, patch)
	kd := c * patch * patch
	if err := joinErr(checkDType(op, "dst", dst, F32), checkDType(op, "pixels", pixels, F32), checkElems(op, pixels.Len())); err != nil {
		return err
	}
	if dst.Dim(-1) != kd || dst.Len() != bsz*hp*wp*kd {
		return fmt.Errorf("%s: dst has shape %v, want [%d, %d] (B·Hp·Wp, C·P·P)", op, dst.Shape, bsz*hp*wp, kd)
	}
	if err := checkElems(op, dst.Len()); err != nil {
		return err
	}
	if allowTexel && patch%4 == 0 && w%4 == 0 {
		tb := k.texelBinder()
		xo := tb.tex(pixels)
		yo := tb.vec4(op, "dst", dst)
		if tb.ok {
			kern, err := k.kernel1D("im2col_tex", []gpu.BindingKind{tex, wr}, 36)
			if err != nil {
				return err
			}
			nrows := dst.Len() / patch // one invocation per patch row of one channel
			push := gpu.Push(uint32(nrows), uint32(c), uint32(h), uint32(w), uint32(patch), uint32(hp), uint32(wp), xo/4, yo/4)
			return k.dispatch1D(rec, kern, nrows, push, tb.binds)
		}
	}
	kern, err := k.kernel1D("im2col", []gpu.BindingKind{rd, wr}, 36)
	if err != nil {
		return err
	}
	bd := k.binder(op)
	xo := bd.add("pixels", pixels)
	yo := bd.add("dst", dst)
	if bd.err != nil {
		return bd.err
	}
	n := dst.Len()
	push := gpu.Push(uint32(n), uint32(c), uint32(h), uint32(w), uint32(patch), uint32(hp), uint32(wp), xo, yo)
	return k.dispatch1D(rec, kern, n, push, bd.binds)
}
