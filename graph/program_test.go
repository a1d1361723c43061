package graph

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/graph/ref"
)

func TestPlanArenaReuse(t *testing.T) {
	mk := func(n, first, last int) *Value {
		return &Value{Shape: []int{n}, first: first, last: last}
	}
	// A chain: each value lives from its producer to its consumer.
	vals := []*Value{mk(1000, 0, 1), mk(1000, 1, 2), mk(1000, 2, 3), mk(1000, 3, 4), mk(500, 0, 4)}
	total := planArena(vals)
	if total >= 5*4096 {
		t.Errorf("no reuse: arena %d", total)
	}
	for i, a := range vals {
		for _, b := range vals[i+1:] {
			if a.first <= b.last && b.first <= a.last {
				ae, be := a.off+alignUp(a.bytes(), arenaAlign), b.off+alignUp(b.bytes(), arenaAlign)
				if a.off < be && b.off < ae {
					t.Fatalf("live values overlap: [%d,%d) and [%d,%d)", a.off, ae, b.off, be)
				}
			}
		}
	}
}

// TestProgramMLP compiles a two-layer MLP with a residual, runs it twice with different
// inputs, and compares with the reference.
func TestProgramMLP(t *testing.T) {
	k := newTestKernels(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	m, h, inner := 13, 32, 52
	w1, b1 := randn(r, inner*h, 0.2), randn(r, inner, 0.1)
	w2, b2 := randn(r, h*inner, 0.2), randn(r, h, 0.1)
	l1, err := k.UploadLinear(ctx, w1, b1, inner, h)
	must(t, err)
	defer l1.Free()
	l2, err := k.UploadLinear(ctx, w2, b2, h, inner)
	must(t, err)
	defer l2.Free()

	p := NewProgram(k)
	x := p.Input("x", F32, m, h)
	mid := p.Temp("mid", F32, m, inner)
	y := p.Output("y", F32, m, h)
	p.Op("fc1", func(rec *gpu.Recorder, get Getter) error {
		return k.Linear(rec, get(mid), get(x), l1, EpiGELU, nil)
	}, x, mid)
	res := x
	p.Op("fc2", func(rec *gpu.Recorder, get Getter) error {
		r := get(res)
		return k.Linear(rec, get(y), get(mid), l2, EpiResidual, &r)
	}, mid, x, y)
	e, err := p.Compile(CompileOptions{Profile: true})
	must(t, err)
	defer e.Close()
	for run := 0; run < 2; run++ {
		in := randn(r, m*h, 1)
		must(t, e.SetInput(ctx, "x", in))
		must(t, e.Run(ctx))
		got, err := e.Output(ctx, "y")
		must(t, err)
		want := ref.Linear(ref.Linear(in, w1, b1, nil, m, inner, h, ref.ActGELU), w2, b2, in, m, h, inner, ref.ActNone)
		if e := nmse(got, want); e > 1e-10 || math.IsNaN(e) {
			t.Fatalf("run %d: nmse %g", run, e)
		}
	}
	if err := e.SetInput(ctx, "x", make([]float32, 3)); err == nil {
		t.Error("wrong input size accepted")
	}
	if err := e.SetInput(ctx, "nope", make([]float32, m*h)); err == nil {
		t.Error("unknown input accepted")
	}
	st := e.Stats()
	if st.Dispatches != 2 || st.Barriers != 1 {
		t.Errorf("stats %+v: want 2 dispatches, 1 barrier", st)
	}
	if prof, err := e.Profile(); err != nil || (k.info.Timestamps && len(prof) != 2) {
		t.Errorf("profile %v, %v", prof, err)
	}
}

// TestProfileChunkedOps: an op split into several dispatches (views at a small device's
// limits) is one row of the profile, with the time of all its dispatches.
func TestProfileChunkedOps(t *testing.T) {
	k := newTestKernels(t)
	if !k.info.Timestamps {
		t.Skip("device has no compute timestamps")
	}
	defaults := k.choice
	defer func() { k.choice = defaults }()
	k.SetGemmVariant(GemmTexel)
	shrinkViews(k)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(9, 9))
	m, n, kd := 13, 512, 256
	l, err := k.UploadLinear(ctx, randn(r, n*kd, 0.1), randn(r, n, 0.1), n, kd)
	must(t, err)
	defer l.Free()
	p := NewProgram(k)
	x := p.Input("x", F32, m, kd)
	y := p.Output("y", F32, m, n)
	p.Op("fc", func(rec *gpu.Recorder, get Getter) error { return k.Linear(rec, get(y), get(x), l, EpiBias, nil) }, x, y)
	e, err := p.Compile(CompileOptions{Profile: true})
	must(t, err)
	defer e.Close()
	must(t, e.SetInput(ctx, "x", randn(r, m*kd, 1)))
	must(t, e.Run(ctx))
	if d := e.Stats().Dispatches; d < 2 {
		t.Fatalf("%d dispatches: the op was not chunked", d)
	}
	prof, err := e.Profile()
	must(t, err)
	tm, err := e.rec.Timings()
	must(t, err)
	var sum time.Duration
	for _, x := range tm {
		sum += x.Duration
	}
	if len(prof) != 1 || prof[0].Op != "fc" || prof[0].Count != 1 || prof[0].Total != sum || len(tm) != e.Stats().Dispatches {
		t.Errorf("profile %+v of %d timings (sum %v), want one op fc with all of them", prof, len(tm), sum)
	}
}
