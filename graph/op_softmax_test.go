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
		{5, 1, 1, 1, false, false},
		{9, 2, 1, 1, false, false},
		{4, 3, 2, 1, true, false},
		{6, 5, 3, 1, false, false},
		{3, 6, 2, 1, false, false},
		{7, 7, 3, 1, false, false},
		{33, 33, 0, 5, true, false},
		{12 * 21, 21, 1, 3, true, false},
		{201, 201, 0, 1, false, true},
		{3 * 269, 269, 0, 4, true, false},
		{5, 769, 2, 20, false, false},
		{2, 3072, 0, 1, false, false},
		{3, 30522, 0, 3, false, false},
		{2, 65536, 1, 2, false, false}, // the widest row allowed (lavapipe's loop limit)
		{2, 65536, 0, 2, false, false}, // the same through the texel kernel
	}
	worst := map[bool]float64{}
	for _, c := range cases {
		for _, texel := range []bool{true, false} {
			name := fmt.Sprintf("%dx%d_pad%d_masked%v_inplace%v_texel%v", c.rows, c.n, c.pad, c.masked, c.inPlace, texel)
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
					checkPath(t, k, texelPath("softmax", texel, true), func(rec *gpu.Recorder) error { return k.softmax(rec, out.Tensor, out.Tensor, texel) })
				} else {
					xt := upF32At(t, k, c.pad, x, c.rows, c.n)
					// The texel view rounds the end up to whole texels: it must stay in the buffer.
					fits := (c.pad+len(x)+3)/4*4 <= len(x)+2*c.pad
					checkPath(t, k, texelPath("softmax", texel, fits), func(rec *gpu.Recorder) error { return k.softmax(rec, out.Tensor, xt, texel) })
				}
				got := out.readPadded(t, k, c.pad)
				e := checkNMSE(t, name, got, want, tolElementwise)
				worst[texel] = max(worst[texel], e)
				t.Logf("nmse %.3g max abs diff %.3g", e, maxAbsDiff(got, want))
			})
		}
	}
	t.Logf("worst nmse: texel %.3g, storage %.3g", worst[true], worst[false])
}

func BenchmarkSoftmax(b *testing.B) {
	k := benchKernels(b)
	r := rand.New(rand.NewPCG(4, 4))
	const heads, s = 12, 269
	b.Run(fmt.Sprintf("%dx%dx%d", heads, s, s), func(b *testing.B) {
		x := upF32(b, k, randn(r, heads*s*s, 2), heads, s, s)
		y := upF32(b, k, make([]float32, heads*s*s), heads, s, s)
		benchOp(b, k, float64(8*heads*s*s), func(rec *gpu.Recorder) error { return k.Softmax(rec, y, x) })
	})
}
