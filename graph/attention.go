package graph

import (
	"fmt"
	"math"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// MaskMin is the additive mask value of a padded key: float32's lowest value, as
// transformers' get_extended_attention_mask uses.
const MaskMin = -math.MaxFloat32

// AttentionMaskAdd turns a 0/1 key mask into the additive form (1 - mask)·float32_min.
func AttentionMaskAdd(mask []float32) []float32 {
	out := make([]float32, len(mask))
	for i, m := range mask {
		out[i] = (1 - m) * MaskMin
	}
	return out
}

// maxHeadDim is the largest head dimension the fused kernel holds in registers.
const maxHeadDim = 128

// Attention records the fused multi-head attention of a pre-LN transformer layer:
// ctx[b, s, h·d:(h+1)·d] = softmax(Q_h·K_hᵀ/√d + maskAdd[b])·V_h for every head h, with
// qkv [B, S, 3H] the fused Q|K|V projection and maskAdd [B, S] additive key masks
// (AttentionMaskAdd). When probs ([B, heads, S, S]) is non-nil the softmax probabilities are
// written there too (transformers' output_attentions).
func (k *Kernels) Attention(rec *gpu.Recorder, ctx, qkv, maskAdd Tensor, heads int, probs *Tensor) error {
	const op = "attention"
	if len(qkv.Shape) != 3 {
		return fmt.Errorf("%s: qkv must be [B, S, 3H], got %v", op, qkv.Shape)
	}
	b, s, h3 := qkv.Shape[0], qkv.Shape[1], qkv.Shape[2]
	if h3%3 != 0 || heads <= 0 || (h3/3)%heads != 0 {
		return fmt.Errorf("%s: qkv width %d is not 3·H with H divisible by %d heads", op, h3, heads)
	}
	hid := h3 / 3
	d := hid / heads
	if d%4 != 0 || d > maxHeadDim {
		return fmt.Errorf("%s: head dim %d must be a multiple of 4 and at most %d", op, d, maxHeadDim)
	}
	if err := joinErr(checkShape(op, "ctx", ctx, b, s, hid), checkShape(op, "maskAdd", maskAdd, b, s),
		checkDType(op, "qkv", qkv, F32), checkDType(op, "ctx", ctx, F32), checkDType(op, "maskAdd", maskAdd, F32)); err != nil {
		return err
	}
	if b*heads > int(k.info.Limits.MaxComputeWorkGroupCount[1]) {
		return fmt.Errorf("%s: %d batch×heads exceeds the device's grid", op, b*heads)
	}
	withProbs := probs != nil
	if withProbs {
		if err := checkShape(op, "probs", *probs, b, heads, s, s); err != nil {
			return err
		}
	}
	if qkv.Off%16 != 0 || ctx.Off%16 != 0 {
		return fmt.Errorf("%s: qkv and ctx must start on 16-byte boundaries", op)
	}
	c := k.choice
	form := c.RegForm
	row := s * h3 / 4 // texels of one batch item
	limit, align := c.texelLimit(), c.texelAlign()
	nb := regChunk(b, row, int(align/16), limit, 1)
	if form == FormStorage || nb == 0 {
		form, limit, align = FormStorage, c.storageLimit(), c.storageAlign()
		nb = regChunk(b, row, int(align/16), limit, 1)
	}
	// ctx and probs are storage bindings of a chunk of the batch too.
	sl := c.storageLimit() * 4
	nb = min(nb, sl/(s*hid))
	if withProbs {
		nb = min(nb, sl/(heads*s*s))
	}
	if nb == 0 {
		return fmt.Errorf("%s: one sequence of %d tokens exceeds the device's buffer views", op, s)
	}
	name, kind := "attention", tex
	if form == FormStorage {
		name, kind = "attention_reg", rd
	}
	wg, kb := c.AttnWG, 8
	var reqSG uint32
	if c.Subgroup > 0 {
		name += "_sg"
		kb = min(c.Subgroup, 16)
		if c.RequireSubgroup {
			reqSG = uint32(c.Subgroup)
		}
	}
	kern, err := k.dev.Kernel(gpu.KernelSpec{Name: name, SPIRV: shaderCode(name), Bindings: []gpu.BindingKind{kind, rd, wr, wr},
		PushSize: 8 * 4, RequiredSubgroupSize: reqSG,
		Spec: []gpu.SpecConstant{gpu.SpecUint(0, uint32(wg)), gpu.SpecUint(1, uint32(d/4)), gpu.SpecUint(2, b2u(withProbs)),
			gpu.SpecUint(3, uint32(kb)), gpu.SpecUint(4, uint32(max(c.Subgroup, 1)))}})
	if err != nil {
		return err
	}
	dummy, err := k.dummy()
	if err != nil {
		return err
	}
	for b0 := 0; b0 < b; b0 += nb {
		n := min(nb, b-b0)
		qb, q0 := regView(qkv, b0*row, n*row, align)
		bd := k.binder(op)
		m0 := bd.add("maskAdd", maskAdd.View(b0*s, n, s))
		c0 := bd.add("ctx", ctx.View(b0*s*hid, n, s, hid))
		var p0 uint32
		if withProbs {
			p0 = bd.add("probs", probs.View(b0*heads*s*s, n, heads, s, s))
		} else {
			bd.binds = append(bd.binds, dummy)
		}
		if bd.err != nil {
			return bd.err
		}
		push := gpu.Push(uint32(s), uint32(hid/4), uint32(heads), float32(math.Sqrt(float64(d))), q0, m0, c0/4, p0)
		grid := [3]uint32{uint32((s + wg - 1) / wg), uint32(n * heads), 1}
		if err := rec.Dispatch(kern, grid, push, append([]gpu.Binding{qb}, bd.binds...)...); err != nil {
			return err
		}
	}
	return nil
}
