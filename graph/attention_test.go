package graph

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/graph/ref"
)

func TestAttentionMatchesReference(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(11, 12))
	defaults := k.choice
	defer func() { k.choice = defaults }()
	cases := []struct{ b, s, hid, heads int }{
		{1, 1, 32, 4},    // d 8
		{1, 7, 32, 4},    // d 8
		{2, 33, 64, 2},   // d 32
		{1, 9, 128, 1},   // d 128
		{3, 20, 64, 1},   // d 64
		{1, 201, 128, 2}, // d 64, ViLT-like length
		{2, 50, 96, 3},   // d 32
	}
	for _, c := range cases {
		for vi, withProbs := range []bool{false, true, false, true, false, true} {
			sg := vi < 2 || vi == 5
			form := []Form{FormTexel, FormStorage}[vi%2]
			small := vi >= 4
			k.choice = defaults
			k.SetTexelSubgroup(sg)
			k.SetForm(form)
			if small {
				shrinkViews(k)
			}
			if sg != k.TexelSubgroup() {
				continue // the device cannot run the subgroup form
			}
			t.Run(fmt.Sprintf("b%d_s%d_h%d_heads%d_probs%v_sg%v_%v_small%v", c.b, c.s, c.hid, c.heads, withProbs, sg, form, small), func(t *testing.T) {
				qkv := randn(r, c.b*c.s*3*c.hid, 1)
				mask := make([]float32, c.b*c.s)
				for i := range mask {
					mask[i] = 1
				}
				// Pad the tail of every sample but the first, as a batch of different lengths is.
				for bi := 1; bi < c.b; bi++ {
					for j := c.s - c.s/3; j < c.s; j++ {
						mask[bi*c.s+j] = 0
					}
				}
				add := AttentionMaskAdd(mask)
				q := upF32(t, k, qkv, c.b, c.s, 3*c.hid)
				m := upF32(t, k, add, c.b, c.s)
				out := newOut(t, k, c.b, c.s, c.hid)
				var pr guarded
				var prp *Tensor
				if withProbs {
					pr = newOut(t, k, c.b, c.heads, c.s, c.s)
					prp = &pr.Tensor
				}
				if small && c.s*3*c.hid/4 > 8192 {
					// One sequence exceeds the shrunk storage view: a clear error, nothing recorded.
					rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
					must(t, err)
					defer rec.Close()
					if err := k.Attention(rec, out.Tensor, q, m, c.heads, prp); err == nil || !strings.Contains(err.Error(), "exceeds") {
						t.Fatalf("err = %v, want a view-limit error", err)
					}
					return
				}
				run(t, k, func(rec *gpu.Recorder) error { return k.Attention(rec, out.Tensor, q, m, c.heads, prp) })
				wantCtx, wantP := ref.Attention(qkv, add, c.b, c.s, c.hid, c.heads)
				got := out.read(t, k)
				if e := nmse(got, wantCtx); e > 1e-10 {
					t.Errorf("ctx nmse %.3g (max abs %.3g)", e, maxAbsDiff(got, wantCtx))
				}
				if withProbs {
					gp := pr.read(t, k)
					if e := nmse(gp, wantP); e > 1e-10 {
						t.Errorf("probs nmse %.3g", e)
					}
					for bi := 1; bi < c.b; bi++ { // masked keys get exactly zero
						for j := c.s - c.s/3; j < c.s; j++ {
							if v := gp[((bi*c.heads)*c.s+0)*c.s+j]; v != 0 {
								t.Fatalf("masked key %d has probability %g", j, v)
							}
						}
					}
				}
			})
		}
	}
}

func TestAttentionErrors(t *testing.T) {
	k := newTestKernels(t)
	q := upF32(t, k, make([]float32, 2*5*3*12), 2, 5, 36)
	m := upF32(t, k, make([]float32, 10), 2, 5)
	c := upF32(t, k, make([]float32, 2*5*12), 2, 5, 12)
	rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer rec.Close()
	if err := k.Attention(rec, c, q, m, 5, nil); err == nil {
		t.Error("heads not dividing H accepted")
	}
	if err := k.Attention(rec, c, q, m, 2, nil); err == nil { // d = 6, not a multiple of 4
		t.Error("head dim 6 accepted")
	}
	if err := k.Attention(rec, m, q, m, 3, nil); err == nil {
		t.Error("wrong ctx shape accepted")
	}
	if err := k.Attention(rec, c, q, m, 3, nil); err != nil {
		t.Errorf("valid call: %v", err)
	}
}
