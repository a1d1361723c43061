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
	probsBind, err := k.dummy()
	if err != nil {
		return err
	}
	withProbs := probs != nil
	if withProbs {
		if err := checkShape(op, "probs", *probs, b, heads, s, s); err != nil {
			return err
		}
		probsBind = probs.Binding()
	}
	wg, name := 64, "attention"
	if k.info.Type == gpu.TypeCPU {
		wg = 8 // one lavapipe subgroup: the workgroup's lanes share every K/V fetch
	}
	if k.texelSG {
		// An 8-lane subgroup: each lane fetches one key of a block and the lanes exchange
		// rows by shuffles (attention_sg; needs KB = workgroup = subgroup = 8).
		wg, name = 8, "attention_sg"
	}
	kern, err := k.kernel(name, []gpu.BindingKind{tex, rd, wr, wr}, 16,
		gpu.SpecUint(0, uint32(wg)), gpu.SpecUint(1, uint32(d/4)), gpu.SpecUint(2, b2u(withProbs)), gpu.SpecUint(3, 8))
	if err != nil {
		return err
	}
	push := gpu.Push(uint32(s), uint32(hid/4), uint32(heads), float32(math.Sqrt(float64(d))))
	grid := [3]uint32{uint32((s + wg - 1) / wg), uint32(b * heads), 1}
	return rec.Dispatch(kern, grid, push, qkv.Binding(), maskAdd.Binding(), ctx.Binding(), probsBind)
}
