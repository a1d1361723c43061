package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/graph/ref"
)

// unaryInputs is a wide range of x: a dense sweep of -10..10, tiny magnitudes of both signs,
// zero, and random normals.
func unaryInputs(r *rand.Rand, extra int) []float32 {
	var x []float32
	for i := -2000; i <= 2000; i++ {
		x = append(x, float32(i)/200)
	}
	for e := -30; e <= -1; e++ {
		v := float32(math.Pow(10, float64(e)))
		x = append(x, v, -v, 3.7*v, -3.7*v)
	}
	x = append(x, 0, 1e-37, -1e-37)
	x = append(x, randn(r, extra, 2)...)
	return x
}

func maxRelErr(got []float32, x []float32, f func(float64) float64) (float64, float32) {
	worst, at := 0.0, float32(0)
	for i, v := range x {
		want := f(float64(v))
		var e float64
		if want == 0 {
			e = math.Abs(float64(got[i]))
		} else {
			e = math.Abs(float64(got[i])-want) / math.Abs(want)
		}
		if e > worst || math.IsNaN(e) {
			worst, at = e, v
		}
	}
	return worst, at
}

func TestGELUTanh(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(13, 1))
	ops := []struct {
		name string
		ref  func(float64) float64
	}{
		{"gelu", ref.GELU64},
		{"tanh", math.Tanh},
	}
	for _, op := range ops {
		for _, extra := range []int{1, 7, 33, 201, 269 * 4, 3072 * 7} {
			for _, pad := range []int{0, 3, 4} {
				for _, texel := range []bool{true, false} {
					name := fmt.Sprintf("%s/%d_pad%d_texel%v", op.name, extra, pad, texel)
					t.Run(name, func(t *testing.T) {
						x := unaryInputs(r, extra)
						n := len(x)
						out := newOutAt(t, k, pad, n)
						xt := upF32At(t, k, pad, x, n)
						checkPath(t, k, texelPath(op.name, texel, n%4 == 0 && pad%4 == 0), func(rec *gpu.Recorder) error {
							return k.unary(rec, op.name, out.Tensor, xt, texel)
						})
						got := out.readPadded(t, k, pad)
						rel, at := maxRelErr(got, x, op.ref)
						want := make([]float32, n)
						for i, v := range x {
							want[i] = float32(op.ref(float64(v)))
						}
						e := checkNMSE(t, name, got, want, tolElementwise)
						t.Logf("nmse %.3g, max relative error %.3g at x=%g", e, rel, at)
						if rel > 1e-6 {
							t.Errorf("max relative error %.3g at x=%g > 1e-6", rel, at)
						}
					})
				}
			}
		}
	}
	t.Run("inplace", func(t *testing.T) {
		x := unaryInputs(r, 100)
		out := newOut(t, k, len(x))
		must(t, k.dev.UploadFloat32s(t.Context(), out.Buf, out.Off, x))
		run(t, k, func(rec *gpu.Recorder) error { return k.GELU(rec, out.Tensor, out.Tensor) })
		checkNMSE(t, "gelu in place", out.read(t, k), ref.GELU(x), tolElementwise)
	})
}

func TestAdd(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(14, 1))
	cases := []struct {
		a, b []int
		pad  int
	}{
		{[]int{1}, []int{1}, 0},
		{[]int{7, 33}, []int{33}, 1},
		{[]int{2, 201, 32}, []int{1, 32}, 3},
		{[]int{3, 269, 768}, []int{768}, 0},
		{[]int{2, 7, 769}, []int{7, 769}, 2},
		{[]int{5, 3072}, []int{5, 3072}, 0},
	}
	worst := 0.0
	for _, c := range cases {
		for _, texel := range []bool{true, false} {
			name := fmt.Sprintf("%v+%v_pad%d_texel%v", c.a, c.b, c.pad, texel)
			t.Run(name, func(t *testing.T) {
				na, nb := 1, 1
				for _, s := range c.a {
					na *= s
				}
				for _, s := range c.b {
					nb *= s
				}
				a, b := randn(r, na, 1), randn(r, nb, 1)
				at := upF32At(t, k, c.pad, a, c.a...)
				bpad := c.pad + 1
				if c.pad%4 == 0 {
					bpad = c.pad + 4
				}
				bt := upF32At(t, k, bpad, b, c.b...)
				out := newOutAt(t, k, c.pad, c.a...)
				fast := na%4 == 0 && nb%4 == 0 && c.pad%4 == 0 && texelFits(k, at, bt)
				checkPath(t, k, texelPath("add_rows", texel, fast), func(rec *gpu.Recorder) error { return k.add(rec, out.Tensor, at, bt, texel) })
				got := out.readPadded(t, k, c.pad)
				want := ref.Add(a, b)
				e := nmse(got, want)
				if e != 0 {
					t.Errorf("nmse %.3g, want exact", e)
				}
				worst = max(worst, e)
			})
		}
	}
	t.Run("inplace", func(t *testing.T) {
		a, b := randn(r, 7*32, 1), randn(r, 32, 1)
		out := newOut(t, k, 7, 32)
		must(t, k.dev.UploadFloat32s(t.Context(), out.Buf, out.Off, a))
		bt := upF32(t, k, b, 32)
		run(t, k, func(rec *gpu.Recorder) error { return k.Add(rec, out.Tensor, out.Tensor, bt) })
		if e := nmse(out.read(t, k), ref.Add(a, b)); e != 0 {
			t.Errorf("nmse %.3g", e)
		}
	})
	t.Run("errors", func(t *testing.T) {
		a := upF32(t, k, make([]float32, 12), 3, 4)
		b3 := upF32(t, k, make([]float32, 3), 3)
		ids := upI32(t, k, make([]int32, 4), 4)
		rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
		must(t, err)
		defer rec.Close()
		for name, err := range map[string]error{
			"no broadcast": k.Add(rec, a, a, b3),
			"dtype":        k.Add(rec, a, a, ids),
			"dst len":      k.Add(rec, b3, a, b3),
			"gelu dtype":   k.GELU(rec, ids, ids),
			"tanh len":     k.Tanh(rec, b3, a),
		} {
			if err == nil {
				t.Errorf("%s: no error", name)
			}
		}
	})
	t.Logf("worst nmse %.3g", worst)
}
