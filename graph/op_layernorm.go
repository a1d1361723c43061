package graph

import (
	"fmt"
	"math"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// LayerNorm records dst = (x - mean) / sqrt(var + eps) · w + b over the last axis of x
// (biased variance, eps inside the root; ViLT uses eps 1e-12 in the encoder and 1e-5 in the
// VQA/NLVR2 classifiers). x is [..., N] float32 (any view, rows contiguous with stride N),
// dst has as many elements and the same last axis (x itself is allowed: in place), w and b
// are [N]. One invocation per row; the statistics are two-pass (see shaders/layernorm.comp).
// When N % 4 == 0 and the tensors start on 16-byte boundaries, x, w and b are read through
// texel buffers (layernorm_tex.comp, several times faster on lavapipe).
func (k *Kernels) LayerNorm(rec *gpu.Recorder, dst, x, w, b Tensor, eps float32) error {
	return k.layerNorm(rec, dst, x, w, b, eps, k.choice.ElementwiseTexel)
}

func (k *Kernels) layerNorm(rec *gpu.Recorder, dst, x, w, b Tensor, eps float32, allowTexel bool) error {
	const op = "layernorm"
	if err := hasBuf(op, map[string]Tensor{"dst": dst, "x": x, "w": w, "b": b}); err != nil {
		return err
	}
	n := x.Dim(-1)
	if err := joinErr(checkDType(op, "dst", dst, F32), checkDType(op, "x", x, F32),
		checkDType(op, "w", w, F32), checkDType(op, "b", b, F32), sameLen(op, dst, x)); err != nil {
		return err
	}
	if dst.Dim(-1) != n {
		return fmt.Errorf("%s: dst %v and x %v differ in the last axis", op, dst.Shape, x.Shape)
	}
	if w.Len() != n || b.Len() != n {
		return fmt.Errorf("%s: w %v and b %v must have %d elements (the last axis of x %v)", op, w.Shape, b.Shape, n, x.Shape)
	}
	if !(eps >= 0) || math.IsInf(float64(eps), 0) {
		return fmt.Errorf("%s: eps %g must be finite and ≥ 0", op, eps)
	}
	if err := joinErr(checkElems(op, x.Len()), checkRowWidth(op, n)); err != nil {
		return err
	}
	rows := x.Rows()
	if allowTexel && n%4 == 0 {
		tb := k.texelBinder()
		xo, wo, bo := tb.tex(x), tb.tex(w), tb.tex(b)
		yo := tb.vec4(op, "dst", dst)
		if tb.ok {
			kern, err := k.kernel1D("layernorm_tex", []gpu.BindingKind{tex, tex, tex, rw}, 32)
			if err != nil {
				return err
			}
			push := gpu.Push(uint32(rows), uint32(n), xo, yo, wo, bo, eps, float32(1/float64(n)))
			return k.dispatch1D(rec, kern, rows, push, tb.binds)
		}
	}
	kern, err := k.kernel1D("layernorm", []gpu.BindingKind{rd, rd, rd, rw}, 32)
	if err != nil {
		return err
	}
	bd := k.binder(op)
	xo := bd.add("x", x)
	wo := bd.add("w", w)
	bo := bd.add("b", b)
	yo := bd.add("dst", dst)
	if bd.err != nil {
		return bd.err
	}
	push := gpu.Push(uint32(rows), uint32(n), xo, yo, wo, bo, eps, float32(1/float64(n)))
	return k.dispatch1D(rec, kern, rows, push, bd.binds)
}
