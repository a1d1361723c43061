package graph

import (
	"fmt"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// Add records dst = a + b element-wise, broadcasting b over the leading axes of a: b's shape
// (leading 1s ignored) must equal the trailing axes of a's shape, e.g. a [B,S,H] with b [H]
// (a bias or a modality-embedding row), [S,H] or [B,S,H]. dst has a's element count (a or b
// itself is allowed: in place). Any operand may be a View starting at any element (the
// kernel is shaders/add_rows.comp, add.comp plus element offsets; add_rows_tex.comp, 4
// elements per invocation through texel buffers, when sizes are multiples of 4 and the
// tensors start on 16-byte boundaries).
func (k *Kernels) Add(rec *gpu.Recorder, dst, a, b Tensor) error {
	return k.add(rec, dst, a, b, k.choice.ElementwiseTexel)
}

func (k *Kernels) add(rec *gpu.Recorder, dst, a, b Tensor, allowTexel bool) error {
	const op = "add"
	if err := hasBuf(op, map[string]Tensor{"dst": dst, "a": a, "b": b}); err != nil {
		return err
	}
	if err := joinErr(checkDType(op, "dst", dst, F32), checkDType(op, "a", a, F32), checkDType(op, "b", b, F32),
		sameLen(op, dst, a), checkElems(op, a.Len())); err != nil {
		return err
	}
	if !broadcastsOver(b.Shape, a.Shape) {
		return fmt.Errorf("%s: b %v does not broadcast over a %v (b's axes must be a's trailing axes)", op, b.Shape, a.Shape)
	}
	n, nb := a.Len(), b.Len()
	if allowTexel && n%4 == 0 && nb%4 == 0 {
		tb := k.texelBinder()
		ao, bo := tb.tex(a), tb.tex(b)
		yo := tb.vec4(op, "dst", dst)
		if tb.ok {
			kern, err := k.kernel1D("add_rows_tex", []gpu.BindingKind{tex, tex, rw}, 20)
			if err != nil {
				return err
			}
			return k.dispatch1D(rec, kern, n/4, gpu.Push(uint32(n/4), uint32(nb/4), ao/4, bo/4, yo/4), tb.binds)
		}
	}
	kern, err := k.kernel1D("add_rows", []gpu.BindingKind{rd, rd, rw}, 20)
	if err != nil {
		return err
	}
	bd := k.binder(op)
	ao := bd.add("a", a)
	bo := bd.add("b", b)
	yo := bd.add("dst", dst)
	if bd.err != nil {
		return bd.err
	}
	return k.dispatch1D(rec, kern, n, gpu.Push(uint32(n), uint32(nb), ao, bo, yo), bd.binds)
}

// broadcastsOver reports whether shape b, without its leading 1s, is a suffix of shape a.
func broadcastsOver(b, a []int) bool {
	for len(b) > 0 && b[0] == 1 {
		b = b[1:]
	}
	if len(b) > len(a) {
		return false
	}
	off := len(a) - len(b)
	for i := range b {
		if b[i] != a[off+i] {
			return false
		}
	}
	return true
}
