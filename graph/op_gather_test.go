package graph

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/graph/ref"
)

func TestGatherRows(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(15, 1))
	cases := []struct {
		srcRows, dstRows, w, row0, nidx int
		pad                             int
	}{
		{1, 1, 1, 0, 1, 0},
		{7, 9, 7, 2, 7, 1},
		{33, 40, 33, 0, 40, 3},
		{201, 201, 32, 5, 190, 0},
		{269, 2 * 269, 768, 269, 269, 2},
		{12, 8, 3072, 0, 8, 0},
		{9, 20, 32, 3, 17, 4},
		{5, 6, 80, 1, 5, 0}, // 20 texels per row: a partial chunk
	}
	for _, c := range cases {
		for _, texel := range []bool{true, false} {
			name := fmt.Sprintf("src%dx%d_dst%d_row0%d_n%d_pad%d_texel%v", c.srcRows, c.w, c.dstRows, c.row0, c.nidx, c.pad, texel)
			t.Run(name, func(t *testing.T) {
				src := randn(r, c.srcRows*c.w, 1)
				idx := make([]int32, c.nidx)
				for i := range idx {
					switch r.IntN(6) {
					case 0:
						idx[i] = -1 // skipped
					case 1:
						idx[i] = int32(c.srcRows + r.IntN(5)) // clamps to the last row
					default:
						idx[i] = int32(r.IntN(c.srcRows))
					}
				}
				st := upF32At(t, k, c.pad, src, c.srcRows, c.w)
				it := upI32At(t, k, c.pad+1, idx, c.nidx)
				out := newOutAt(t, k, c.pad, c.dstRows, c.w)
				// Rows the gather does not write keep what was there.
				prev := randn(r, c.dstRows*c.w, 1)
				must(t, k.dev.UploadFloat32s(t.Context(), out.Buf, out.Off, prev))
				fast := c.w%4 == 0 && c.pad%4 == 0
				checkPath(t, k, texelPath("gather_rows", texel, fast), func(rec *gpu.Recorder) error {
					return k.gather(rec, "gather_rows", out.Tensor, c.row0, st, it, 0, texel)
				})
				got := out.readPadded(t, k, c.pad)
				want := ref.GatherRows(append([]float32(nil), prev...), c.row0, src, idx, c.w)
				if e := nmse(got, want); e != 0 {
					t.Errorf("nmse %.3g, want exact", e)
				}
			})
		}
	}
}

// TestGatherRowsSequence builds ViLT's embedding sequence [text ; image CLS ; patches] for a
// batch with three gathers into one tensor, selects the pooler rows, and copies int32 data.
func TestGatherRowsSequence(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(16, 1))
	const bsz, tlen, npatch, l, h = 2, 5, 6, 4, 32 // L image tokens per sample
	s := tlen + 1 + l
	text := randn(r, bsz*tlen*h, 1)
	cls := randn(r, h, 1)
	patches := randn(r, bsz*npatch*h, 1)
	idxText := make([]int32, bsz*s)
	idxCls := make([]int32, bsz*s)
	idxPatch := make([]int32, bsz*s)
	for i := range idxText {
		idxText[i], idxCls[i], idxPatch[i] = -1, -1, -1
	}
	want := make([]float32, bsz*s*h)
	sel := [][]int{{0, 1, 2, 3}, {5, 2, 4, 4}} // selected patches per sample
	for b := 0; b < bsz; b++ {
		for t := 0; t < tlen; t++ {
			idxText[b*s+t] = int32(b*tlen + t)
			copy(want[(b*s+t)*h:], text[(b*tlen+t)*h:(b*tlen+t+1)*h])
		}
		idxCls[b*s+tlen] = 0
		copy(want[(b*s+tlen)*h:], cls)
		for j, p := range sel[b] {
			row := b*s + tlen + 1 + j
			idxPatch[row] = int32(b*npatch + p)
			copy(want[row*h:], patches[(b*npatch+p)*h:(b*npatch+p+1)*h])
		}
	}
	seq := newOut(t, k, bsz, s, h)
	pool := newOut(t, k, bsz, h)
	tt, ct, pt := upF32(t, k, text, bsz*tlen, h), upF32(t, k, cls, 1, h), upF32(t, k, patches, bsz*npatch, h)
	it, ic, ip := upI32(t, k, idxText, bsz*s), upI32(t, k, idxCls, bsz*s), upI32(t, k, idxPatch, bsz*s)
	poolIdx := upI32(t, k, []int32{0, int32(s)}, bsz)
	// int32 data copies bit for bit, including patterns that are NaN as float32.
	ints := []int32{1, -5, 0x7fc00001, math.MaxInt32, math.MinInt32, 0x7f800001}
	isrc := upI32(t, k, ints, 3, 2)
	idst := newOut(t, k, 3, 2)
	idst.DType = I32
	run(t, k, func(rec *gpu.Recorder) error {
		flat := seq.View(0, bsz*s, h)
		return joinErr(
			k.GatherRows(rec, flat, 0, tt, it),
			k.GatherRows(rec, flat, 0, ct, ic),
			k.GatherRows(rec, flat, 0, pt, ip),
			k.GatherRows(rec, pool.Tensor, 0, flat, poolIdx),
			k.GatherRows(rec, idst.Tensor, 0, isrc, upI32(t, k, []int32{2, 0, 1}, 3)),
		)
	})
	if e := nmse(seq.read(t, k), want); e != 0 {
		t.Errorf("sequence: nmse %.3g", e)
	}
	wantPool := append(append([]float32(nil), want[:h]...), want[s*h:(s+1)*h]...)
	if e := nmse(pool.read(t, k), wantPool); e != 0 {
		t.Errorf("pooler rows: nmse %.3g", e)
	}
	gotI, err := ReadFloat32s(t.Context(), k.dev, idst.Tensor)
	must(t, err)
	wantI := []int32{ints[4], ints[5], ints[0], ints[1], ints[2], ints[3]}
	for i, v := range asI32(gotI) {
		if v != wantI[i] {
			t.Errorf("int32 gather [%d] = %#x, want %#x", i, v, wantI[i])
		}
	}
}

func TestEmbedding(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(17, 1))
	for _, c := range []struct{ vocab, h, n int }{{1, 1, 1}, {30522, 32, 7}, {40, 768, 201}, {3, 769, 33}} {
		t.Run(fmt.Sprintf("v%d_h%d_n%d", c.vocab, c.h, c.n), func(t *testing.T) {
			table := randn(r, c.vocab*c.h, 0.5)
			ids := make([]int32, c.n)
			for i := range ids {
				ids[i] = int32(r.IntN(c.vocab))
			}
			ids[0] = -3                       // clamps to row 0
			ids[c.n-1] = int32(c.vocab + 100) // clamps to the last row
			tt := upF32(t, k, table, c.vocab, c.h)
			it := upI32(t, k, ids, c.n)
			out := newOut(t, k, c.n, c.h)
			run(t, k, func(rec *gpu.Recorder) error { return k.Embedding(rec, out.Tensor, tt, it) })
			if e := nmse(out.read(t, k), ref.Embedding(table, ids, c.h)); e != 0 {
				t.Errorf("nmse %.3g, want exact", e)
			}
		})
	}
}

func TestTextEmbedding(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(18, 1))
	for _, c := range []struct{ bsz, seq, vocab, types, maxPos, h, pad int }{
		{1, 1, 5, 1, 1, 1, 0},
		{1, 8, 30522, 2, 40, 32, 1},
		{2, 11, 30522, 2, 40, 32, 0},
		{3, 40, 1000, 2, 40, 768, 3},
		{1, 7, 50, 2, 40, 769, 0},
		{2, 9, 100, 3, 12, 64, 4},
		{2, 5, 30, 2, 8, 80, 0}, // 20 texels per row: a partial chunk
	} {
		for _, texel := range []bool{true, false} {
			name := fmt.Sprintf("B%d_T%d_V%d_H%d_pad%d_texel%v", c.bsz, c.seq, c.vocab, c.h, c.pad, texel)
			t.Run(name, func(t *testing.T) {
				word := randn(r, c.vocab*c.h, 0.5)
				seg := randn(r, c.types*c.h, 0.5)
				pos := randn(r, c.maxPos*c.h, 0.5)
				ids := make([]int32, c.bsz*c.seq)
				tts := make([]int32, c.bsz*c.seq)
				for i := range ids {
					ids[i] = int32(r.IntN(c.vocab))
					tts[i] = int32(r.IntN(c.types))
				}
				ids[0], tts[len(tts)-1] = int32(c.vocab), 7 // out of range: clamped, never read OOB
				wt := upF32At(t, k, c.pad, word, c.vocab, c.h)
				st := upF32At(t, k, c.pad, seg, c.types, c.h)
				pt := upF32At(t, k, c.pad+4, pos, c.maxPos, c.h)
				it := upI32At(t, k, c.pad+1, ids, c.bsz, c.seq)
				tt := upI32At(t, k, c.pad+2, tts, c.bsz, c.seq)
				out := newOutAt(t, k, c.pad, c.bsz, c.seq, c.h)
				fast := c.h%4 == 0 && c.pad%4 == 0 && texelFits(k, wt, st, pt)
				checkPath(t, k, texelPath("embed_text", texel, fast), func(rec *gpu.Recorder) error {
					return k.textEmbedding(rec, out.Tensor, wt, st, pt, it, tt, texel)
				})
				want := ref.TextEmbedding(word, seg, pos, ids, tts, c.seq, c.h)
				if e := nmse(out.readPadded(t, k, c.pad), want); e != 0 {
					t.Errorf("nmse %.3g, want exact", e)
				}
			})
		}
	}
	t.Run("errors", func(t *testing.T) {
		w := upF32(t, k, make([]float32, 8*4), 8, 4)
		p := upF32(t, k, make([]float32, 2*4), 2, 4)
		ids := upI32(t, k, make([]int32, 3), 1, 3)
		out := newOut(t, k, 1, 3, 4)
		rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
		must(t, err)
		defer rec.Close()
		if err := k.TextEmbedding(rec, out.Tensor, w, w, p, ids, ids); err == nil {
			t.Error("T > positions: no error")
		}
		if err := k.TextEmbedding(rec, out.Tensor, w, w, w, ids, w); err == nil {
			t.Error("float type ids: no error")
		}
		if err := k.GatherRows(rec, out.View(0, 3, 4), 1, w, ids); err == nil {
			t.Error("gather past dst rows: no error")
		}
		if err := k.Embedding(rec, out.View(0, 3, 4), p, upI32(t, k, []int32{1, 1}, 2)); err == nil {
			t.Error("embedding row count: no error")
		}
		if CheckIDs("input_ids", []int32{0, 5, 30521}, 30522) != nil || CheckIDs("input_ids", []int32{0, 30522}, 30522) == nil ||
			CheckIDs("token_type_ids", []int32{-1}, 2) == nil {
			t.Error("CheckIDs")
		}
	})
}

// TestTextEmbeddingHalf: a half-precision word table (Precision fp16) through the texel path
// (RGBA16F views) and the storage path (embed_text_h, 16-bit storage) gives exactly the
// float32 result on the rounded table.
func TestTextEmbeddingHalf(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(19, 1))
	f := k.info.Features
	for _, c := range []struct{ bsz, seq, vocab, types, maxPos, h, pad int }{
		{1, 1, 5, 1, 1, 1, 0},
		{2, 11, 30522, 2, 40, 32, 4},
		{3, 40, 1000, 2, 40, 768, 3},
		{1, 7, 50, 2, 40, 769, 0},
		{2, 5, 30, 2, 8, 80, 0},
	} {
		for _, texel := range []bool{true, false} {
			name := fmt.Sprintf("B%d_T%d_V%d_H%d_pad%d_texel%v", c.bsz, c.seq, c.vocab, c.h, c.pad, texel)
			t.Run(name, func(t *testing.T) {
				word := randn(r, c.vocab*c.h, 0.5)
				seg := randn(r, c.types*c.h, 0.5)
				pos := randn(r, c.maxPos*c.h, 0.5)
				ids := make([]int32, c.bsz*c.seq)
				tts := make([]int32, c.bsz*c.seq)
				for i := range ids {
					ids[i] = int32(r.IntN(c.vocab))
					tts[i] = int32(r.IntN(c.types))
				}
				padded := make([]float32, len(word)+2*c.pad)
				copy(padded[c.pad:], word)
				all, err := UploadHalf(context.Background(), k.dev, padded, len(padded))
				must(t, err)
				t.Cleanup(all.Buf.Free)
				wt := all.View(c.pad, c.vocab, c.h)
				st := upF32At(t, k, c.pad, seg, c.types, c.h)
				pt := upF32At(t, k, c.pad, pos, c.maxPos, c.h)
				it := upI32At(t, k, c.pad+1, ids, c.bsz, c.seq)
				tt := upI32At(t, k, c.pad+2, tts, c.bsz, c.seq)
				out := newOutAt(t, k, c.pad, c.bsz, c.seq, c.h)
				fast := texel && c.h%4 == 0 && c.pad%4 == 0 && texelFits(k, wt, st, pt)
				if !fast && !f.StorageBuffer16BitAccess {
					t.Skip("no 16-bit storage: the scalar path cannot read a half table")
				}
				want := "embed_text_h"
				if fast {
					want = "embed_text_tex"
				}
				checkPath(t, k, want, func(rec *gpu.Recorder) error {
					return k.textEmbedding(rec, out.Tensor, wt, st, pt, it, tt, texel)
				})
				if e := nmse(out.readPadded(t, k, c.pad), ref.TextEmbedding(roundHalf(word), seg, pos, ids, tts, c.seq, c.h)); e != 0 {
					t.Errorf("nmse %.3g, want exact", e)
				}
			})
		}
	}
}
