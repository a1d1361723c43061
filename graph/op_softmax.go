package graph

import (
	"fmt"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// Softmax records dst = softmax(x) over the last axis (the row maximum is subtracted first,
// so large and -inf-like scores such as -3.4e38 mask values are safe). x is [..., N] float32,
// dst has as many elements and the same last axis (x itself is allowed: in place). One
// invocation per row, three plain passes; rows of at most 65536 elements.
func (k *Kernels) Softmax(rec *gpu.Recorder, dst, x Tensor) error {
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
	rows := x.Rows()
	return k.dispatch1D(rec, kern, rows, gpu.Push(uint32(rows), uint32(n), xo, yo), bd.binds)
}
