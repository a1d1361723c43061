package graph

import (
	"fmt"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// TextEmbedding records ViLT's (BERT) text embeddings before their LayerNorm:
//
//	dst[b, t, :] = (word[ids[b,t], :] + segment[typeIDs[b,t], :]) + pos[t, :]
//
// with dst [B, T, H] float32, ids and typeIDs [B, T] int32 (typeIDs all 0 when the caller has
// none), word [V, H], segment [types, H] and pos [maxPos, H] (T ≤ maxPos is checked here;
// position ids are always 0..T-1). Ids and type ids outside their tables are clamped in the
// shader so they never read out of bounds; validating them on the host before upload (and
// reporting bad input) is the caller's job. The LayerNorm (eps 1e-12) and the modality row
// are separate ops (LayerNorm, Add).
//
// With H % 4 == 0 and 16-byte aligned tables and output, the tables are read through texel
// buffers, 4 elements per invocation (embed_text_tex.comp).
//
// word may be F16 (Precision fp16): read through an RGBA16F texel view, or from 16-bit
// storage (embed_text_h.comp).
func (k *Kernels) TextEmbedding(rec *gpu.Recorder, dst, word, segment, pos, ids, typeIDs Tensor) error {
	return k.textEmbedding(rec, dst, word, segment, pos, ids, typeIDs, k.choice.ElementwiseTexel)
}

func (k *Kernels) textEmbedding(rec *gpu.Recorder, dst, word, segment, pos, ids, typeIDs Tensor, allowTexel bool) error {
	const op = "text embedding"
	if err := hasBuf(op, map[string]Tensor{"dst": dst, "word": word, "segment": segment, "pos": pos, "ids": ids, "typeIDs": typeIDs}); err != nil {
		return err
	}
	if len(dst.Shape) != 3 {
		return fmt.Errorf("%s: dst has shape %v, want [B,T,H]", op, dst.Shape)
	}
	bsz, seq, h := dst.Shape[0], dst.Shape[1], dst.Shape[2]
	if err := joinErr(
		checkDType(op, "dst", dst, F32), checkWordDType(op, word), checkDType(op, "segment", segment, F32),
		checkDType(op, "pos", pos, F32), checkDType(op, "ids", ids, I32), checkDType(op, "typeIDs", typeIDs, I32),
		checkShape(op, "word", word, -1, h), checkShape(op, "segment", segment, -1, h), checkShape(op, "pos", pos, -1, h),
		checkShape(op, "ids", ids, bsz, seq), checkShape(op, "typeIDs", typeIDs, bsz, seq), checkElems(op, dst.Len()),
		checkElems(op, word.Len())); err != nil {
		return err
	}
	if seq > pos.Shape[0] {
		return fmt.Errorf("%s: %d text tokens, but only %d positions (max_position_embeddings)", op, seq, pos.Shape[0])
	}
	if allowTexel && h%4 == 0 {
		tb := k.texelBinder()
		wo, so, po := tb.tex(word), tb.tex(segment), tb.tex(pos)
		bi, io, err1 := k.bindAt(op, "ids", ids)
		bt, to, err2 := k.bindAt(op, "typeIDs", typeIDs)
		if err := joinErr(err1, err2); err != nil {
			return err
		}
		tb.binds = append(tb.binds, bi, bt)
		yo := tb.vec4(op, "dst", dst)
		if tb.ok {
			wkind := tex
			if word.DType == F16 {
				wkind = gpu.TexelReadHalf
			}
			kern, err := k.kernel1D("embed_text_tex", []gpu.BindingKind{wkind, tex, tex, rd, rd, wr}, 44)
			if err != nil {
				return err
			}
			const chunk = 16 // texels per invocation (CHUNK in the shader)
			items := bsz * seq * ((h/4 + chunk - 1) / chunk)
			push := gpu.Push(uint32(items), uint32(h/4), uint32(seq), uint32(word.Shape[0]), uint32(segment.Shape[0]), wo/4, so/4, po/4, io, to, yo/4)
			return k.dispatch1D(rec, kern, items, push, tb.binds)
		}
	}
	name := "embed_text"
	if word.DType == F16 {
		if !k.info.Features.StorageBuffer16BitAccess {
			return fmt.Errorf("%s: a half-precision word table needs storageBuffer16BitAccess or RGBA16F texel views", op)
		}
		name = "embed_text_h"
	}
	kern, err := k.kernel1D(name, []gpu.BindingKind{rd, rd, rd, rd, rd, wr}, 44)
	if err != nil {
		return err
	}
	bd := k.binder(op)
	wo := bd.add("word", word)
	so := bd.add("segment", segment)
	po := bd.add("pos", pos)
	io := bd.add("ids", ids)
	to := bd.add("typeIDs", typeIDs)
	yo := bd.add("dst", dst)
	if bd.err != nil {
		return bd.err
	}
	n := dst.Len()
	push := gpu.Push(uint32(n), uint32(h), uint32(seq), uint32(word.Shape[0]), uint32(segment.Shape[0]), wo, so, po, io, to, yo)
	return k.dispatch1D(rec, kern, n, push, bd.binds)
}

func checkWordDType(op string, word Tensor) error {
	if word.DType != F32 && word.DType != F16 {
		return fmt.Errorf("%s: word is %s, want f32 or f16", op, word.DType)
	}
	return nil
}

// HalfEmbedding says whether a word table stored as half can be read on this device (Precision
// fp16 and a TextEmbedding path for it); callers upload it as float32 otherwise.
func (k *Kernels) HalfEmbedding() bool {
	if k.choice.Precision != PrecisionFP16 {
		return false
	}
	if k.choice.ElementwiseTexel && k.info.Features.UniformTexelRGBA16F {
		return true
	}
	return k.info.Features.StorageBuffer16BitAccess
}

// CheckIDs is the host-side validation the embedding ops leave to their callers: it reports
// the first id outside [0, limit) (what, e.g. "input_ids" or "token_type_ids", names the
// ids in the message). Call it before uploading ids; the shaders only clamp.
func CheckIDs(what string, ids []int32, limit int) error {
	for i, id := range ids {
		if id < 0 || int(id) >= limit {
			return fmt.Errorf("%s[%d] = %d outside [0, %d)", what, i, id, limit)
		}
	}
	return nil
}
