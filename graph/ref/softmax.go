package ref

import "math"

// Softmax applies softmax to each row of width n of x (max subtracted), in float64.
func Softmax(x []float32, n int) []float32 {
	y := make([]float32, len(x))
	for r := 0; r+n <= len(x); r += n {
		row := x[r : r+n]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		for i, v := range row {
			y[r+i] = float32(math.Exp(float64(v)-m) / s)
		}
	}
	return y
}
