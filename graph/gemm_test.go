package graph

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/graph/ref"
	"github.com/vilt-vk/vilt-vk/weights"
)

// shrinkViews limits the kernels' texel views to 2,000 texels and storage views to 8,192
// (128 KiB), so products and batches are split into many chunks, as on a device with small
// limits (and the texel form falls back to storage where one row or group exceeds 2,000).
func shrinkViews(k *Kernels) {
	k.choice.limits.MaxTexelBufferElements = 2000
	k.choice.limits.MaxStorageBufferRange = 8192 * 16
}

func TestLinearMatchesReference(t *testing.T) { testLinear(t, PrecisionFP32) }

// TestLinearHalfMatchesReference runs every variant and form with half-precision weights
// against the reference on the same weights rounded to half: only the storage differs, the
// arithmetic is float32, so the bar is the float32 one.
func TestLinearHalfMatchesReference(t *testing.T) { testLinear(t, PrecisionFP16) }

func testLinear(t *testing.T, prec Precision) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(7, 8))
	shapes := [][3]int{ // M, N, K
		{1, 1, 4}, {1, 7, 4}, {7, 33, 12}, {33, 7, 201}, {7, 9, 37}, {201, 33, 768},
		{269, 49, 64}, {5, 769, 256}, {33, 13, 3072}, {64, 64, 64}, {65, 129, 68},
	}
	epis := []struct {
		name string
		epi  Epilogue
		bias bool
		act  ref.Act
	}{
		{"plain", 0, false, ref.ActNone},
		{"bias", EpiBias, true, ref.ActNone},
		{"bias+gelu", EpiBias | EpiGELU, true, ref.ActGELU},
		{"bias+residual", EpiBias | EpiResidual, true, ref.ActNone},
		{"bias+tanh", EpiBias | EpiTanh, true, ref.ActTanh},
	}
	type variant struct {
		v     GemmVariant
		tile  TileConfig
		sg    bool
		form  Form
		small bool // views limited to a few thousand texels: many chunks per product
	}
	variants := []variant{
		{GemmTexel, TileSmall, false, FormTexel, false}, {GemmTexel, TileSmall, true, FormTexel, false},
		{GemmTexel, TileSmall, false, FormStorage, false}, {GemmTexel, TileSmall, true, FormStorage, true},
		{GemmTexel, TileSmall, true, FormTexel, true},
		{GemmTiled, TileSmall, false, FormTexel, false}, {GemmTiled, TileLarge, false, FormTexel, false},
	}
	defaults := k.choice
	defer func() { k.choice = defaults }()
	for vi, vt := range variants {
		v := vt.v
		k.choice = defaults
		k.SetGemmVariant(v)
		k.SetTile(vt.tile)
		k.SetTexelSubgroup(vt.sg)
		k.SetForm(vt.form)
		if vt.small {
			shrinkViews(k)
		}
		if vt.sg && !k.TexelSubgroup() {
			t.Logf("device cannot run the subgroup texel GEMM; skipped")
			continue
		}
		k.choice.Precision = prec
		if prec == PrecisionFP16 && !k.choice.halfGemm() {
			t.Logf("%s GEMM, %s operands: the device cannot read half weights; skipped", v, vt.form)
			continue
		}
		for si, s := range shapes {
			if vi >= 2 && si%2 == vi%2 {
				continue // the other variants on half the shapes keep the test short
			}
			m, n, kd := s[0], s[1], s[2]
			e := epis[si%len(epis)]
			t.Run(fmt.Sprintf("%s%d_sg%v_%v_small%v/%dx%dx%d/%s", v, vt.tile.BM, vt.sg, vt.form, vt.small, m, n, kd, e.name), func(t *testing.T) {
				x := randn(r, m*kd, 1)
				w := randn(r, n*kd, 1/float64(kd))
				var bias, res []float32
				if e.bias {
					bias = randn(r, n, 0.5)
				}
				if e.epi&EpiResidual != 0 {
					res = randn(r, m*n, 1)
				}
				l, err := k.UploadLinear(context.Background(), w, bias, n, kd)
				must(t, err)
				defer l.Free()
				if prec == PrecisionFP16 {
					switch {
					case l.W.DType == F16:
						w = roundHalf(w)
					case k.choice.halfStorage:
						t.Fatalf("weight stored as %s, want f16", l.W.DType)
					default: // texel views only, and a group of W exceeds one: kept in fp32
						t.Logf("weight kept in fp32 (no 16-bit storage for the storage fallback)")
					}
				}
				if v == GemmTexel && kd%4 == 0 && l.Variant != GemmTexel {
					t.Fatalf("variant %s, want texel", l.Variant)
				}
				xt := upF32(t, k, x, m, kd)
				y := newOut(t, k, m, n)
				var rt *Tensor
				if res != nil {
					rr := upF32(t, k, res, m, n)
					rt = &rr
				}
				run(t, k, func(rec *gpu.Recorder) error { return k.Linear(rec, y.Tensor, xt, l, e.epi, rt) })
				got := y.read(t, k)
				want := ref.Linear(x, w, bias, res, m, n, kd, e.act)
				if err := nmse(got, want); err > 1e-10 {
					t.Errorf("nmse %.3g (max abs %.3g)", err, maxAbsDiff(got, want))
				}
			})
		}
	}
}

func TestLinearErrors(t *testing.T) {
	k := newTestKernels(t)
	l, err := k.UploadLinear(context.Background(), make([]float32, 8*4), nil, 8, 4)
	must(t, err)
	defer l.Free()
	x := upF32(t, k, make([]float32, 12), 3, 4)
	y := upF32(t, k, make([]float32, 24), 3, 8)
	bad := upF32(t, k, make([]float32, 15), 3, 5)
	rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer rec.Close()
	for name, err := range map[string]error{
		"wrong K":          k.Linear(rec, y, bad, l, 0, nil),
		"wrong N":          k.Linear(rec, bad, x, l, 0, nil),
		"missing residual": k.Linear(rec, y, x, l, EpiResidual, nil),
		"nil layer":        k.Linear(rec, y, x, nil, 0, nil),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := k.UploadLinear(context.Background(), make([]float32, 10), nil, 3, 4); err == nil {
		t.Error("wrong weight size accepted")
	}
}

func TestBatchedMatMul(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(9, 10))
	// Attention-like: per head h, S_h = Q_h·K_hᵀ with Q, K slices of a [T, 3H] QKV tensor.
	T, H, heads := 37, 32, 4
	d := H / heads
	qkv := randn(r, T*3*H, 1)
	q := upF32(t, k, qkv, T, 3*H)
	s := newOut(t, k, heads, T, T)
	run(t, k, func(rec *gpu.Recorder) error {
		return k.BatchedMatMul(rec, s.Tensor, q, q.View(H, T*3*H-H), MatMulOpts{
			M: T, N: T, K: d, Batch: heads, LDX: 3 * H, LDW: 3 * H, StrideX: d, StrideW: d, StrideY: T * T, Alpha: 0.5,
		})
	})
	got := s.read(t, k)
	for h := 0; h < heads; h++ {
		want := ref.MatMul(qkv[h*d:], qkv[H+h*d:], T, T, d, 3*H, 3*H, false, 0.5)
		if e := nmse(got[h*T*T:(h+1)*T*T], want); e > 1e-10 {
			t.Errorf("head %d: nmse %.3g", h, e)
		}
	}
	// P·V form: W stored [K,N].
	m, n, kd := 19, 8, 37
	x, w := randn(r, 3*m*kd, 1), randn(r, kd*n, 1)
	xt, wt := upF32(t, k, x, 3, m, kd), upF32(t, k, w, kd, n)
	y := newOut(t, k, 3, m, n)
	run(t, k, func(rec *gpu.Recorder) error {
		return k.BatchedMatMul(rec, y.Tensor, xt, wt, MatMulOpts{M: m, N: n, K: kd, Batch: 3, StrideX: m * kd, StrideY: m * n, TransW: true})
	})
	got = y.read(t, k)
	for b := 0; b < 3; b++ {
		want := ref.MatMul(x[b*m*kd:], w, m, n, kd, kd, n, true, 1)
		if e := nmse(got[b*m*n:(b+1)*m*n], want); e > 1e-10 {
			t.Errorf("batch %d: nmse %.3g", b, e)
		}
	}
	rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer rec.Close()
	if err := k.BatchedMatMul(rec, y.Tensor, xt, wt, MatMulOpts{M: m, N: n, K: kd, Batch: 4, StrideX: m * kd, StrideY: m * n, TransW: true}); err == nil {
		t.Error("strides past the end accepted")
	}
}

// roundHalf rounds values to half precision and back (what fp16 weights hold).
func roundHalf(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, f := range v {
		out[i] = weights.F16ToF32(weights.F32ToF16(f))
	}
	return out
}

// TestLinearTileCandidates: every shared-memory tile BenchmarkGEMMTiles may pick (those the
// device runs) computes the reference on a ragged shape.
func TestLinearTileCandidates(t *testing.T) {
	k := newTestKernels(t)
	r := rand.New(rand.NewPCG(9, 10))
	defaults := k.choice
	defer func() { k.choice = defaults }()
	k.SetGemmVariant(GemmTiled)
	for _, tile := range TileCandidates {
		if !tile.Fits(k.info.Limits) {
			t.Logf("tile %s does not fit the device; skipped", tile)
			continue
		}
		k.SetTile(tile)
		for _, s := range [][3]int{{37, 70, 36}} { // aligned; the edge path is testLinear's
			m, n, kd := s[0], s[1], s[2]
			t.Run(fmt.Sprintf("%s/%dx%dx%d", tile, m, n, kd), func(t *testing.T) {
				x, w := randn(r, m*kd, 1), randn(r, n*kd, 1/float64(kd))
				bias, res := randn(r, n, 0.5), randn(r, m*n, 1)
				l, err := k.UploadLinear(context.Background(), w, bias, n, kd)
				must(t, err)
				defer l.Free()
				xt, rt := upF32(t, k, x, m, kd), upF32(t, k, res, m, n)
				y := newOut(t, k, m, n)
				run(t, k, func(rec *gpu.Recorder) error { return k.Linear(rec, y.Tensor, xt, l, EpiBias|EpiResidual, &rt) })
				got, want := y.read(t, k), ref.Linear(x, w, bias, res, m, n, kd, ref.ActNone)
				if err := nmse(got, want); err > 1e-10 {
					t.Errorf("nmse %.3g (max abs %.3g)", err, maxAbsDiff(got, want))
				}
			})
		}
	}
}
