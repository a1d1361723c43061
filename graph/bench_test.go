package graph

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// benchKernels opens a device for benchmarks: validation only when VILT_VK_VALIDATE=1, since
// the layer's bookkeeping would be measured too.
func benchKernels(b *testing.B) *Kernels {
	b.Helper()
	d, err := gpu.Open(gpu.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	k, err := NewKernels(d)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// ViLT-B/32 GEMM rows: 201 tokens (the cats photo at 384×512) and a batch of 8 of them, 269
// (384×608, the maximum) and a batch of 8 at 269. VILT_BENCH_GEMM_M="201,1608" replaces the
// list (tools/gpureport's quick mode).
func benchGemmM(b *testing.B) []int {
	env := os.Getenv("VILT_BENCH_GEMM_M")
	if env == "" {
		return []int{201, 269, 8 * 201, 8 * 269}
	}
	var ms []int
	for _, f := range strings.Split(env, ",") {
		m, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || m <= 0 {
			b.Fatalf("VILT_BENCH_GEMM_M: %q is not a row count", f)
		}
		ms = append(ms, m)
	}
	return ms
}

var benchGemmNK = []struct {
	name string
	n, k int
}{
	{"768x2304_qkv", 2304, 768},
	{"768x768_attnout", 768, 768},
	{"768x3072_fc1", 3072, 768},
	{"3072x768_fc2", 768, 3072},
}

func BenchmarkGEMM(b *testing.B) {
	k := benchKernels(b)
	r := rand.New(rand.NewPCG(1, 1))
	type variant struct {
		v    GemmVariant
		sg   bool
		prec Precision
	}
	var variants []variant
	for _, p := range []Precision{PrecisionFP32, PrecisionFP16} {
		variants = append(variants, variant{GemmTexel, true, p}, variant{GemmTexel, false, p}, variant{GemmTiled, false, p})
	}
	for _, vt := range variants {
		v := vt.v
		k.SetTexelSubgroup(vt.sg)
		if vt.sg != k.TexelSubgroup() {
			continue
		}
		k.SetGemmVariant(v)
		if k.SetPrecision(vt.prec) != nil || (vt.prec == PrecisionFP16 && !k.halfLinear(v, 768)) {
			continue // the device cannot read half weights with this variant
		}
		name := v.String()
		if vt.sg {
			name += "-sg"
		}
		if vt.prec == PrecisionFP16 {
			name += "-fp16"
		}
		for _, m := range benchGemmM(b) {
			for _, s := range benchGemmNK {
				b.Run(fmt.Sprintf("%s/M%d/%s", name, m, s.name), func(b *testing.B) {
					k.SetGemmVariant(v)
					k.SetTexelSubgroup(vt.sg)
					must(b, k.SetPrecision(vt.prec))
					benchLinear(b, k, r, m, s.n, s.k)
				})
			}
		}
	}
	k.SetGemmVariant(variants[0].v)
}

// benchLinear times k.Linear (bias epilogue) on random [m,kk] × [n,kk]ᵀ with the kernels'
// current choice, and reports GFLOPS, GFLOPS per CPU-second and ms/op.
func benchLinear(b *testing.B, k *Kernels, r *rand.Rand, m, n, kk int) {
	ctx := context.Background()
	l, err := k.UploadLinear(ctx, randn(r, n*kk, 0.05), randn(r, n, 0.1), n, kk)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Free()
	x, err := UploadTensor(ctx, k.dev, randn(r, m*kk, 1), m, kk)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Buf.Free()
	y, err := NewTensor(k.dev, F32, m, n)
	if err != nil {
		b.Fatal(err)
	}
	defer y.Buf.Free()
	rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	if err := k.Linear(rec, y, x, l, EpiBias, nil); err != nil {
		b.Fatal(err)
	}
	benchSubmits(b, rec, 2*float64(m)*float64(n)*float64(kk))
}

// benchSubmits submits a recorded op once untimed, then b.N times, and reports GFLOPS (for
// flops per submit), GFLOPS per CPU-second and ms/op.
func benchSubmits(b *testing.B, rec *gpu.Recorder, flops float64) {
	ctx := context.Background()
	if err := rec.Submit(ctx); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		if err := rec.Submit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(flops/sec/1e9, "GFLOPS")
	reportCPU(b, flops, cpu0)
	b.ReportMetric(sec*1e3, "ms/op")
}

// BenchmarkGEMMTiles sweeps the shared-memory tiles of the GPU-type GEMM (TileCandidates that
// fit the device) at ViLT's shapes: the table to tune a GPU by (VILT_GEMM_TILED applies one).
// It runs on GPU-type devices; on CPU drivers, where this variant is not used and slow, only
// with VILT_BENCH_TILES=1. VILT_BENCH_GEMM_M sets the rows (default 201 and 1608).
func BenchmarkGEMMTiles(b *testing.B) {
	k := benchKernels(b)
	if k.info.Type == gpu.TypeCPU && os.Getenv("VILT_BENCH_TILES") != "1" {
		b.Skip("CPU-type device: the shared-memory tiles are for GPUs (VILT_BENCH_TILES=1 runs them anyway)")
	}
	r := rand.New(rand.NewPCG(3, 3))
	ms := []int{201, 1608}
	if os.Getenv("VILT_BENCH_GEMM_M") != "" {
		ms = benchGemmM(b)
	}
	k.SetGemmVariant(GemmTiled)
	for _, t := range TileCandidates {
		if !t.Fits(k.info.Limits) {
			continue
		}
		for _, m := range ms {
			for _, s := range benchGemmNK {
				b.Run(fmt.Sprintf("tiled-%s/M%d/%s", t, m, s.name), func(b *testing.B) {
					k.SetTile(t)
					benchLinear(b, k, r, m, s.n, s.k)
				})
			}
		}
	}
	k.SetTile(k.choice.Tile)
}

func BenchmarkAttention(b *testing.B) {
	k := benchKernels(b)
	r := rand.New(rand.NewPCG(2, 2))
	ctx := context.Background()
	const hid, heads = 768, 12
	for _, c := range []struct{ b, s int }{{1, 201}, {1, 269}, {8, 201}, {8, 269}} {
		for _, withProbs := range []bool{false, true} {
			b.Run(fmt.Sprintf("B%d_S%d_probs%v", c.b, c.s, withProbs), func(b *testing.B) {
				qkv, err := UploadTensor(ctx, k.dev, randn(r, c.b*c.s*3*hid, 1), c.b, c.s, 3*hid)
				if err != nil {
					b.Fatal(err)
				}
				defer qkv.Buf.Free()
				mask := make([]float32, c.b*c.s)
				for i := range mask {
					mask[i] = 1
				}
				m, err := UploadTensor(ctx, k.dev, AttentionMaskAdd(mask), c.b, c.s)
				if err != nil {
					b.Fatal(err)
				}
				defer m.Buf.Free()
				out, err := NewTensor(k.dev, F32, c.b, c.s, hid)
				if err != nil {
					b.Fatal(err)
				}
				defer out.Buf.Free()
				var probs *Tensor
				if withProbs {
					p, err := NewTensor(k.dev, F32, c.b, heads, c.s, c.s)
					if err != nil {
						b.Fatal(err)
					}
					defer p.Buf.Free()
					probs = &p
				}
				rec, err := k.dev.NewRecorder(gpu.RecorderOptions{})
				if err != nil {
					b.Fatal(err)
				}
				defer rec.Close()
				if err := k.Attention(rec, out, qkv, m, heads, probs); err != nil {
					b.Fatal(err)
				}
				benchSubmits(b, rec, 4*float64(c.b)*float64(c.s)*float64(c.s)*float64(hid))
			})
		}
	}
}
