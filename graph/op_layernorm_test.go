package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/graph/ref"
)

func TestLayerNorm(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(11, 1))
	cases := []struct {
		rows, n int
		eps     float32
		pad     int     // element offset of x and dst views (odd: unaligned)
		offset  float64 // common offset added to x (mean far from 0)
		scale   float64
		inPlace bool
	}{
		{1, 1, 1e-12, 0, 0, 1, false},
		{7, 7, 1e-5, 0, 0, 1, false},
		{3, 33, 1e-12, 3, 0, 1, false},
		{5, 201, 1e-12, 0, 0, 3, false},
		{33, 269, 1e-5, 1, 0, 1, false},
		{269, 768, 1e-12, 0, 0, 1, false},
		{7, 768, 1e-12, 5, 100, 1, false},
		{9, 768, 1e-12, 4, 0, 1, false}, // 16-byte aligned view
		{6, 768, 1e-12, 8, 0, 1, true},
		{4, 1536, 1e-5, 0, 0, 0.01, false},
		{3, 3072, 1e-12, 7, 0, 1, false},
		{201, 32, 1e-12, 0, -30, 2, true},
		{2, 3072, 1e-12, 0, 1000, 0.5, false},
		{2, 65536, 1e-5, 0, 0, 1, false}, // the widest row allowed (lavapipe's loop limit)
	}
	worst := map[bool]float64{}
	for _, c := range cases {
		for _, texel := range []bool{true, false} {
			name := fmt.Sprintf("%dx%d_eps%g_pad%d_off%g_texel%v", c.rows, c.n, c.eps, c.pad, c.offset, texel)
			if c.inPlace {
				name += "_inplace"
			}
			t.Run(name, func(t *testing.T) {
				x := randn(r, c.rows*c.n, c.scale)
				for i := range x {
					x[i] += float32(c.offset)
				}
				if c.rows > 2 { // one constant row: variance 0, output = bias
					for i := 0; i < c.n; i++ {
						x[c.n+i] = 0.5
					}
				}
				w := randn(r, c.n, 0.2)
				for i := range w {
					w[i]++
				}
				b := randn(r, c.n, 0.1)
				want := ref.LayerNorm(x, w, b, c.n, float64(c.eps))
				wt, bt := upF32(t, k, w, c.n), upF32(t, k, b, c.n)
				var got []float32
				if c.inPlace {
					out := newOutAt(t, k, c.pad, c.rows, c.n)
					must(t, k.dev.UploadFloat32s(t.Context(), out.Buf, out.Off, x))
					checkPath(t, k, texelPath("layernorm", texel, c.n%4 == 0 && c.pad%4 == 0), func(rec *gpu.Recorder) error {
						return k.layerNorm(rec, out.Tensor, out.Tensor, wt, bt, c.eps, texel)
					})
					got = out.readPadded(t, k, c.pad)
				} else {
					xt := upF32At(t, k, c.pad, x, c.rows, c.n)
					out := newOutAt(t, k, c.pad, c.rows, c.n)
					checkPath(t, k, texelPath("layernorm", texel, c.n%4 == 0 && c.pad%4 == 0), func(rec *gpu.Recorder) error {
						return k.layerNorm(rec, out.Tensor, xt, wt, bt, c.eps, texel)
					})
					got = out.readPadded(t, k, c.pad)
				}
				e := checkNMSE(t, name, got, want, tolElementwise)
				worst[texel] = max(worst[texel], e)
				t.Logf("nmse %.3g max abs diff %.3g", e, maxAbsDiff(got, want))
			})
		}
	}
	t.Logf("worst nmse: texel allowed %.3g, storage only %.3g", worst[true], worst[false])
}

func TestLayerNormErrors(t *testing.T) {
	k := newTestKernels(t)
	x := upF32(t, k, make([]float32, 12), 3, 4)
	w4 := upF32(t, k, make([]float32, 4), 4)
	w3 := upF32(t, k, make([]float32, 3), 3)
	ids := upI32(t, k, make([]int32, 12), 3, 4)
	y := newOut(t, k, 3, 4)
	y2 := newOut(t, k, 4, 3)
	rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer rec.Close()
	for name, err := range map[string]error{
		"w size":      k.LayerNorm(rec, y.Tensor, x, w3, w4, 1e-12),
		"b size":      k.LayerNorm(rec, y.Tensor, x, w4, w3, 1e-12),
		"dst axis":    k.LayerNorm(rec, y2.Tensor, x, w4, w4, 1e-12),
		"dtype":       k.LayerNorm(rec, y.Tensor, ids, w4, w4, 1e-12),
		"neg eps":     k.LayerNorm(rec, y.Tensor, x, w4, w4, -1),
		"no buffer":   k.LayerNorm(rec, y.Tensor, Tensor{Shape: []int{3, 4}}, w4, w4, 1e-12),
		"nil rec":     k.LayerNorm(nil, y.Tensor, x, w4, w4, 1e-12),
		"out of buf":  k.LayerNorm(rec, y.Tensor, x.View(4, 3, 4), w4, w4, 1e-12),
		"sm dst size": k.Softmax(rec, y.View(0, 2, 4), x),
		"ln too wide": k.LayerNorm(rec, Tensor{Buf: x.Buf, Shape: []int{1, 65540}}, Tensor{Buf: x.Buf, Shape: []int{1, 65540}},
			Tensor{Buf: x.Buf, Shape: []int{65540}}, Tensor{Buf: x.Buf, Shape: []int{65540}}, 1e-12),
		"sm too wide": k.Softmax(rec, Tensor{Buf: x.Buf, Shape: []int{1, 65537}}, Tensor{Buf: x.Buf, Shape: []int{1, 65537}}),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func BenchmarkLayerNorm(b *testing.B) {
	k := benchKernels(b)
	r := rand.New(rand.NewPCG(3, 3))
	for _, rows := range []int{269, 8 * 269} {
		const n = 768
		b.Run(fmt.Sprintf("%dx%d", rows, n), func(b *testing.B) {
			x := upF32(b, k, randn(r, rows*n, 1), rows, n)
			w := upF32(b, k, randn(r, n, 1), n)
			bb := upF32(b, k, randn(r, n, 1), n)
			y := upF32(b, k, make([]float32, rows*n), rows, n)
			benchOp(b, k, float64(8*rows*n), func(rec *gpu.Recorder) error { return k.LayerNorm(rec, y, x, w, bb, 1e-12) })
		})
	}
}
