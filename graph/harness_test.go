package graph

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
)

// Test harness shared by the op tests: devices with validation on, uploads, outputs with
// guard regions, and comparisons against the Go references.

func newTestKernels(t testing.TB) *Kernels {
	t.Helper()
	d := gputest.Device(t)
	k, err := NewKernels(d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func randn(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

func upF32(t testing.TB, k *Kernels, v []float32, shape ...int) Tensor {
	t.Helper()
	x, err := UploadTensor(context.Background(), k.dev, v, shape...)
	must(t, err)
	t.Cleanup(x.Buf.Free)
	return x
}

func upI32(t testing.TB, k *Kernels, v []int32, shape ...int) Tensor {
	t.Helper()
	x, err := UploadTensor(context.Background(), k.dev, v, shape...)
	must(t, err)
	t.Cleanup(x.Buf.Free)
	return x
}

// guardElems floats of sentinel surround every output tensor to catch out-of-bounds writes.
const guardElems = 64

const sentinelValue = float32(-7.75e30)

// guarded is an output tensor with sentinel regions on both sides.
type guarded struct {
	Tensor
	all Tensor
}

func newOut(t testing.TB, k *Kernels, shape ...int) guarded {
	t.Helper()
	n := 1
	for _, s := range shape {
		n *= s
	}
	init := make([]float32, n+2*guardElems)
	for i := range init {
		init[i] = sentinelValue
	}
	all := upF32(t, k, init, len(init))
	return guarded{Tensor: all.View(guardElems, shape...), all: all}
}

// read downloads the output, failing on any touched guard element or NaN.
func (g guarded) read(t testing.TB, k *Kernels) []float32 {
	t.Helper()
	v, err := ReadFloat32s(context.Background(), k.dev, g.all)
	must(t, err)
	n := g.Len()
	for i := 0; i < guardElems; i++ {
		if v[i] != sentinelValue || v[guardElems+n+i] != sentinelValue {
			t.Fatalf("out-of-bounds write next to output %v (guard element %d)", g.Shape, i)
		}
	}
	out := v[guardElems : guardElems+n]
	for i, x := range out {
		if math.IsNaN(float64(x)) {
			t.Fatalf("NaN at output element %d", i)
		}
	}
	return out
}

// run records fn into a fresh recorder and submits it.
func run(t testing.TB, k *Kernels, fn func(rec *gpu.Recorder) error) {
	t.Helper()
	rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer rec.Close()
	must(t, fn(rec))
	must(t, rec.Submit(context.Background()))
}

// nmse is the normalized mean squared error Σ(got-want)²/Σwant² (NaN → +Inf).
func nmse(got, want []float32) float64 {
	var num, den float64
	for i := range got {
		if math.IsNaN(float64(got[i])) || math.IsInf(float64(got[i]), 0) {
			return math.Inf(1)
		}
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return num
	}
	return num / den
}

func maxAbsDiff(got, want []float32) float64 {
	m := 0.0
	for i := range got {
		m = math.Max(m, math.Abs(float64(got[i])-float64(want[i])))
	}
	return m
}

// Tolerances from the kernels issue: element-wise/norm/softmax and GEMM/attention ceilings.
const (
	tolElementwise = 1e-7
	tolGemm        = 5e-4
)
