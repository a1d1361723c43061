package graph

import (
	"fmt"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// Softmax records dst = softmax(x) over the last axis (the row maximum is subtracted first,
// so large and -inf-like scores such as -3.4e38 mask values are safe). x is [..., N] float32,
// dst has as many elements and the same last axis (x itself is allowed: in place). One
// invocation per row, three plain passes; rows of at most 65536 elements. x is read through a
// texel buffer (softmax_tex.comp) whenever its view can be bound as one, for any N.
func (k *Kernels) Softmax(rec *gpu.Recorder, dst, x Tensor) error {
	return k.softmax(rec, dst, x, k.choice.ElementwiseTexel)
}

// texelAtAny binds t as a texel buffer from the 16-byte boundary at or below its start and
// returns the element offset of t in that view, which need not be a multiple of 4.
func (k *Kernels) texelAtAny(t Tensor) (gpu.Binding, uint32, bool) {
	if t.Off%elemBytes != 0 {
		return gpu.Binding{}, 0, false
	}
	start := t.Off / 16 * 16
	lead := t.Off - start
	v := Tensor{Buf: t.Buf, Off: start, Shape: []int{t.Len() + int(lead/elemBytes)}, DType: t.DType}
	b, e, ok := k.texelAt(v)
	return b, e + uint32(lead/elemBytes), ok
}

func (k *Kernels) softmax(rec *gpu.Recorder, dst, x Tensor, allowTexel bool) error {
	const op = "softmax"
	if err := hasBuf(op, map[string]Tensor{"dst": dst, "x": x}); err != nil {
		return err
	}
	if err := joinErr(checkDType(op, "dst", dst, F32), checkDType(op, "x", x, F32), sameLen(op, dst, x), checkElems(op, x.Len())); err != nil {
		return err
	}
	n := x.Dim(-1)
	if dst.Dim(-1) != n {
		return fmt.Errorf("%s: dst %v and x %v differ in the last axis", op, dst.Shape, x.Shape)
	}
	if err := checkRowWidth(op, n); err != nil {
		return err
	}
	rows := x.Rows()
	if allowTexel {
		if bx, xo, ok := k.texelAtAny(x); ok {
			by, yo, err := k.bindAt(op, "dst", dst)
			if err != nil {
				return err
			}
			kern, err := k.kernel1D("softmax_tex", []gpu.BindingKind{tex, rw}, 16)
			if err != nil {
				return err
			}
			return k.dispatch1D(rec, kern, rows, gpu.Push(uint32(rows), uint32(n), xo, yo), []gpu.Binding{bx, by})
		}
	}
	kern, err := k.kernel1D("softmax", []gpu.BindingKind{rd, rw}, 16)
	if err != nil {
		return err
	}
	bd := k.binder(op)
	xo := bd.add("x", x)
	yo := bd.add("dst", dst)
	if bd.err != nil {
		return bd.err
	}
	return k.dispatch1D(rec, kern, rows, gpu.Push(uint32(rows), uint32(n), xo, yo), bd.binds)
}
