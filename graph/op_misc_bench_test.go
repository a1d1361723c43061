package graph

import (
	"math/rand/v2"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// Benchmarks of the smaller memory-bound ops at ViLT-B/32 sizes (269 tokens, 768 hidden,
// a 384×608 image).
func BenchmarkElementwise(b *testing.B) {
	k := benchKernels(b)
	r := rand.New(rand.NewPCG(5, 5))
	const rows, n = 269, 3072
	x := upF32(b, k, randn(r, rows*n, 1), rows, n)
	bias := upF32(b, k, randn(r, n, 1), n)
	y := upF32(b, k, make([]float32, rows*n), rows, n)
	b.Run("GELU_269x3072", func(b *testing.B) {
		benchOp(b, k, float64(8*rows*n), func(rec *gpu.Recorder) error { return k.GELU(rec, y, x) })
	})
	b.Run("Tanh_269x3072", func(b *testing.B) {
		benchOp(b, k, float64(8*rows*n), func(rec *gpu.Recorder) error { return k.Tanh(rec, y, x) })
	})
	b.Run("AddRow_269x3072", func(b *testing.B) {
		benchOp(b, k, float64(8*rows*n), func(rec *gpu.Recorder) error { return k.Add(rec, y, x, bias) })
	})
}

func BenchmarkImageOps(b *testing.B) {
	k := benchKernels(b)
	r := rand.New(rand.NewPCG(6, 6))
	const c, h, w, p, d, pd = 3, 384, 608, 32, 768, 12
	hp, wp := PatchGrid(h, w, p)
	pix := upF32(b, k, randn(r, c*h*w, 1), 1, c, h, w)
	cols := upF32(b, k, make([]float32, hp*wp*c*p*p), hp*wp, c*p*p)
	b.Run("Im2col_384x608_P32", func(b *testing.B) {
		benchOp(b, k, float64(8*c*h*w), func(rec *gpu.Recorder) error { return k.Im2col(rec, cols, pix, p) })
	})
	grid := upF32(b, k, randn(r, pd*pd*d, 1), pd*pd, d)
	sizes := upI32(b, k, []int32{int32(hp), int32(wp)}, 1, 2)
	pos := upF32(b, k, make([]float32, hp*wp*d), 1, hp, wp, d)
	b.Run("InterpPos_12x19x768", func(b *testing.B) {
		benchOp(b, k, float64(4*hp*wp*d), func(rec *gpu.Recorder) error { return k.InterpPosEmbed(rec, pos, grid, sizes) })
	})
	const seq = 269
	src := upF32(b, k, randn(r, seq*d, 1), seq, d)
	dst := upF32(b, k, make([]float32, seq*d), seq, d)
	idx := make([]int32, seq)
	for i := range idx {
		idx[i] = int32(seq - 1 - i)
	}
	it := upI32(b, k, idx, seq)
	b.Run("GatherRows_269x768", func(b *testing.B) {
		benchOp(b, k, float64(8*seq*d), func(rec *gpu.Recorder) error { return k.GatherRows(rec, dst, 0, src, it) })
	})
}
