package graph

import (
	"context"
	"math"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// Helpers for the op tests (op_*_test.go).

// upF32At uploads v into a fresh buffer pad elements in (with pad garbage elements on both
// sides) and returns the view of v: a tensor whose byte offset is not 0 and, for odd pad,
// not aligned to 16 bytes, as a View of a larger activation would be.
func upF32At(t testing.TB, k *Kernels, pad int, v []float32, shape ...int) Tensor {
	t.Helper()
	all := make([]float32, len(v)+2*pad)
	for i := range all {
		all[i] = 1e30
	}
	copy(all[pad:], v)
	x := upF32(t, k, all, len(all))
	return x.View(pad, shape...)
}

// upI32At is upF32At for int32 data.
func upI32At(t testing.TB, k *Kernels, pad int, v []int32, shape ...int) Tensor {
	t.Helper()
	all := make([]int32, len(v)+2*pad)
	for i := range all {
		all[i] = math.MaxInt32
	}
	copy(all[pad:], v)
	x := upI32(t, k, all, len(all))
	return x.View(pad, shape...)
}

// newOutAt is newOut whose tensor starts pad elements after the guard region (the elements
// in between are guards too).
func newOutAt(t testing.TB, k *Kernels, pad int, shape ...int) guarded {
	t.Helper()
	n := 1
	for _, s := range shape {
		n *= s
	}
	g := newOut(t, k, n+2*pad)
	return guarded{Tensor: g.all.View(guardElems+pad, shape...), all: g.all}
}

// readPadded reads a newOutAt output, checking the pad elements too.
func (g guarded) readPadded(t testing.TB, k *Kernels, pad int) []float32 {
	t.Helper()
	whole := guarded{Tensor: g.all.View(guardElems, g.Len()+2*pad), all: g.all}
	v := whole.read(t, k)
	for i := 0; i < pad; i++ {
		if v[i] != sentinelValue || v[pad+g.Len()+i] != sentinelValue {
			t.Fatalf("write outside output %v (pad element %d)", g.Shape, i)
		}
	}
	return v[pad : pad+g.Len()]
}

func asI32(v []float32) []int32 {
	o := make([]int32, len(v))
	for i, x := range v {
		o[i] = int32(math.Float32bits(x))
	}
	return o
}

func checkNMSE(t testing.TB, name string, got, want []float32, tol float64) float64 {
	t.Helper()
	e := nmse(got, want)
	if !(e <= tol) {
		t.Errorf("%s: nmse %.3g > %.1g (max abs diff %.3g)", name, e, tol, maxAbsDiff(got, want))
	}
	return e
}

// benchOp records fn reps times into one command buffer and reports ms per op and GB/s for
// bytes of memory traffic per op.
func benchOp(b *testing.B, k *Kernels, bytes float64, fn func(rec *gpu.Recorder) error) {
	b.Helper()
	const reps = 10
	ctx := context.Background()
	rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	for i := 0; i < reps; i++ {
		if err := fn(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := rec.Submit(ctx); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := rec.Submit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N*reps)
	b.ReportMetric(sec*1e3, "ms/op")
	b.ReportMetric(bytes/sec/1e9, "GB/s")
}

// runNamed is run that also returns the names of the kernels dispatched, in order (nil when
// the device has no timestamps, which the names come with).
func runNamed(t testing.TB, k *Kernels, fn func(rec *gpu.Recorder) error) []string {
	t.Helper()
	rec, err := k.dev.NewRecorder(gpu.RecorderOptions{Profile: true})
	must(t, err)
	defer rec.Close()
	must(t, fn(rec))
	must(t, rec.Submit(context.Background()))
	tm, err := rec.Timings()
	must(t, err)
	var names []string
	for _, x := range tm {
		names = append(names, x.Label)
	}
	return names
}

// checkPath runs fn and checks that it dispatched kernel want (when names are available).
func checkPath(t testing.TB, k *Kernels, want string, fn func(rec *gpu.Recorder) error) {
	t.Helper()
	names := runNamed(t, k, fn)
	if names == nil {
		return
	}
	if len(names) != 1 || names[0] != want {
		t.Errorf("dispatched %v, want [%s]", names, want)
	}
}

// texelPath names the kernel an op should pick: base+"_tex" when the texel variant is
// allowed and applicable.
func texelPath(base string, texel, applicable bool) string {
	return texelPathIf(base, texel && applicable)
}

// texelFits reports whether every tensor can be bound as one texel view on k's device (a
// device with a small maxTexelBufferElements takes the scalar path for large tensors).
func texelFits(k *Kernels, ts ...Tensor) bool {
	for _, t := range ts {
		if _, _, ok := k.texelAt(t); !ok {
			return false
		}
	}
	return true
}

func texelPathIf(base string, texel bool) string {
	if texel {
		return base + "_tex"
	}
	return base
}
