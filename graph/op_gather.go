package graph

import (
	"fmt"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// GatherRows records dst[dstRow0+i, :] = src[idx[i], :] for every i < len(idx), treating dst
// and src as matrices of rows of the same width (their last axes; any leading shape). A
// negative idx[i] leaves destination row dstRow0+i untouched, so several GatherRows calls
// into one dst (one per source, the others' rows at -1) build a concatenation, e.g. ViLT's
// sequence [text ; image CLS ; patches]; idx[i] ≥ src rows clamps to the last row (never out
// of bounds, but the caller should not rely on it). Pooler input: idx = [0, S, 2S, ...] over
// the [B·S, H] sequence. dst and src may be F32 or I32 (same dtype): I32 words are copied
// bit for bit; F32 rows whose width is a multiple of 4 go through texel fetches, 4 per
// invocation (values unchanged, though a device may flush denormals). idx is I32, any shape.
func (k *Kernels) GatherRows(rec *gpu.Recorder, dst Tensor, dstRow0 int, src, idx Tensor) error {
	return k.gather(rec, "gather_rows", dst, dstRow0, src, idx, 0, k.choice.ElementwiseTexel)
}

// Embedding records dst[i, :] = table[ids[i], :] for the int32 ids (word, text-position,
// segment or modality rows): dst is [..., H] with as many rows as ids has elements, table is
// [V, H]. Ids out of [0, V) are clamped in the shader, so they never read out of bounds, but
// they give wrong rows: validating ids on the host before upload is the caller's job.
func (k *Kernels) Embedding(rec *gpu.Recorder, dst, table, ids Tensor) error {
	const op = "embedding"
	if err := hasBuf(op, map[string]Tensor{"dst": dst, "table": table, "ids": ids}); err != nil {
		return err
	}
	if dst.Rows() != ids.Len() {
		return fmt.Errorf("%s: dst %v has %d rows for %d ids %v", op, dst.Shape, dst.Rows(), ids.Len(), ids.Shape)
	}
	return k.gather(rec, op, dst, 0, table, ids, 1, k.choice.ElementwiseTexel)
}

// gather records gather_rows_tex (float32 rows of a multiple of 4 wide, 16-byte aligned: 4
// elements per invocation through a texel buffer) or gather_rows (bit-exact 32-bit words).
func (k *Kernels) gather(rec *gpu.Recorder, op string, dst Tensor, row0 int, src, idx Tensor, mode uint32, allowTexel bool) error {
	if err := hasBuf(op, map[string]Tensor{"dst": dst, "src": src, "idx": idx}); err != nil {
		return err
	}
	if err := joinErr(checkDType(op, "idx", idx, I32), checkDType(op, "src", src, dst.DType)); err != nil {
		return err
	}
	w := dst.Dim(-1)
	if src.Dim(-1) != w {
		return fmt.Errorf("%s: src %v and dst %v have rows of different widths", op, src.Shape, dst.Shape)
	}
	nidx := idx.Len()
	if row0 < 0 || row0+nidx > dst.Rows() {
		return fmt.Errorf("%s: rows %d..%d outside dst %v (%d rows)", op, row0, row0+nidx, dst.Shape, dst.Rows())
	}
	if err := joinErr(checkElems(op, nidx*w), checkElems(op, dst.Len()), checkElems(op, src.Len())); err != nil {
		return err
	}
	// Bind only the destination rows this call may write, so the recorder's hazard tracking
	// lets gathers into disjoint row ranges of one tensor run without a barrier.
	out := dst.View(row0*w, nidx, w)
	if allowTexel && dst.DType == F32 && w%4 == 0 {
		tb := k.texelBinder()
		xo := tb.tex(src)
		bi, io, err := k.bindAt(op, "idx", idx)
		if err != nil {
			return err
		}
		tb.binds = append(tb.binds, bi)
		yo := tb.vec4(op, "dst", out)
		if tb.ok {
			kern, err := k.kernel1D("gather_rows_tex", []gpu.BindingKind{tex, rd, rw}, 32)
			if err != nil {
				return err
			}
			const chunk = 16 // texels per invocation (CHUNK in the shader)
			items := nidx * ((w/4 + chunk - 1) / chunk)
			push := gpu.Push(uint32(items), uint32(w/4), uint32(src.Rows()), uint32(0), xo/4, yo/4, io, mode)
			return k.dispatch1D(rec, kern, items, push, tb.binds)
		}
	}
	kern, err := k.kernel1D("gather_rows", []gpu.BindingKind{rd, rd, rw}, 32)
	if err != nil {
		return err
	}
	bd := k.binder(op)
	xo := bd.add("src", src)
	io := bd.add("idx", idx)
	yo := bd.add("dst", out)
	if bd.err != nil {
		return bd.err
	}
	n := nidx * w
	push := gpu.Push(uint32(n), uint32(w), uint32(src.Rows()), uint32(0), xo, yo, io, mode)
	return k.dispatch1D(rec, kern, n, push, bd.binds)
}
