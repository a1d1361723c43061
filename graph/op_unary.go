package graph

import (
	"github.com/vilt-vk/vilt-vk/gpu"
)

// GELU records dst = 0.5·x·(1 + erf(x/√2)) element-wise (the exact erf form ViLT uses
// everywhere; relative error < 1e-6 on -10..10). dst and x are float32 with the same element
// count (shapes may differ; x itself is allowed: in place).
func (k *Kernels) GELU(rec *gpu.Recorder, dst, x Tensor) error {
	return k.unary(rec, "gelu", dst, x, k.choice.ElementwiseTexel)
}

// Tanh records dst = tanh(x) element-wise (the pooler's activation), like GELU.
func (k *Kernels) Tanh(rec *gpu.Recorder, dst, x Tensor) error {
	return k.unary(rec, "tanh", dst, x, k.choice.ElementwiseTexel)
}

// unary records an element-wise kernel: the texel variant (<op>_tex, 4 elements per
// invocation) when the element count is a multiple of 4 and both tensors start on 16-byte
// boundaries, else the scalar storage-buffer kernel.
func (k *Kernels) unary(rec *gpu.Recorder, op string, dst, x Tensor, allowTexel bool) error {
	if err := hasBuf(op, map[string]Tensor{"dst": dst, "x": x}); err != nil {
		return err
	}
	if err := joinErr(checkDType(op, "dst", dst, F32), checkDType(op, "x", x, F32), sameLen(op, dst, x), checkElems(op, x.Len())); err != nil {
		return err
	}
	n := x.Len()
	if allowTexel && n%4 == 0 {
		tb := k.texelBinder()
		xo := tb.tex(x)
		yo := tb.vec4(op, "dst", dst)
		if tb.ok {
			kern, err := k.kernel1D(op+"_tex", []gpu.BindingKind{tex, rw}, 12)
			if err != nil {
				return err
			}
			return k.dispatch1D(rec, kern, n/4, gpu.Push(uint32(n/4), xo/4, yo/4), tb.binds)
		}
	}
	kern, err := k.kernel1D(op, []gpu.BindingKind{rd, rw}, 12)
	if err != nil {
		return err
	}
	bd := k.binder(op)
	xo := bd.add("x", x)
	yo := bd.add("dst", dst)
	if bd.err != nil {
		return bd.err
	}
	return k.dispatch1D(rec, kern, n, gpu.Push(uint32(n), xo, yo), bd.binds)
}
