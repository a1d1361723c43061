package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/graph/ref"
)

func TestSoftmax(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(12, 1))
	cases := []struct {
		rows, n int
		pad     int
		scale   float64
		masked  bool // some columns at float32 min, as attention masks make them
		inPlace bool
	}{
		{1, 1, 0, 1, false, false},
		{7, 7, 3, 1, false, false},
		{33, 33, 0, 5, true, false},
		{12 * 21, 21, 1, 3, true, false},
		{201, 201, 0, 1, false, true},
		{3 * 269, 269, 0, 4, true, false},
		{5, 769, 2, 20, false, false},
		{2, 3072, 0, 1, false, false},
		{3, 30522, 0, 3, false, false},
		{2, 65536, 1, 2, false, false}, // the widest row allowed (lavapipe's loop limit)
	}
	worst := 0.0
	for _, c := range cases {
		name := fmt.Sprintf("%dx%d_pad%d_masked%v_inplace%v", c.rows, c.n, c.pad, c.masked, c.inPlace)
		t.Run(name, func(t *testing.T) {
			x := randn(r, c.rows*c.n, c.scale)
			if c.masked {
				for i := range x {
					if r.IntN(5) == 0 {
						x[i] = -3.4028234663852886e38
					}
				}
				for i := 0; i < c.n; i++ { // a fully masked row
					x[i] = -3.4028234663852886e38
				}
			}
			x[len(x)-1] = 80 // large scores stay finite
			want := ref.Softmax(x, c.n)
			out := newOutAt(t, k, c.pad, c.rows, c.n)
			if c.inPlace {
				must(t, k.dev.UploadFloat32s(t.Context(), out.Buf, out.Off, x))
				run(t, k, func(rec *gpu.Recorder) error { return k.Softmax(rec, out.Tensor, out.Tensor) })
			} else {
				xt := upF32At(t, k, c.pad, x, c.rows, c.n)
				run(t, k, func(rec *gpu.Recorder) error { return k.Softmax(rec, out.Tensor, xt) })
			}
			got := out.readPadded(t, k, c.pad)
			e := checkNMSE(t, name, got, want, tolElementwise)
			worst = max(worst, e)
			t.Logf("nmse %.3g max abs diff %.3g", e, maxAbsDiff(got, want))
		})
	}
	t.Logf("worst nmse %.3g", worst)
}

func BenchmarkSoftmax(b *testing.B) {
	k := opBenchKernels(b)
	r := rand.New(rand.NewPCG(4, 4))
	const heads, s = 12, 269
	b.Run(fmt.Sprintf("%dx%dx%d", heads, s, s), func(b *testing.B) {
		x := upF32(b, k, randn(r, heads*s*s, 2), heads, s, s)
		y := upF32(b, k, make([]float32, heads*s*s), heads, s, s)
		benchOp(b, k, float64(8*heads*s*s), func(rec *gpu.Recorder) error { return k.Softmax(rec, y, x) })
	})
}
