package ref

import "math"

// LayerNorm normalizes each row of width n of x: (x - mean) / sqrt(var + eps) · w + b with
// the biased variance, in float64 (two-pass).
func LayerNorm(x, w, b []float32, n int, eps float64) []float32 {
	y := make([]float32, len(x))
	for r := 0; r+n <= len(x); r += n {
		row := x[r : r+n]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		mean := s / float64(n)
		var q float64
		for _, v := range row {
			d := float64(v) - mean
			q += d * d
		}
		rstd := 1 / math.Sqrt(q/float64(n)+eps)
		for i, v := range row {
			y[r+i] = float32((float64(v)-mean)*rstd*float64(w[i]) + float64(b[i]))
		}
	}
	return y
}
