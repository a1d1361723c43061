package ref

import "math"

// GELU64 is the exact GELU 0.5·x·(1 + erf(x/√2)) in float64, written as 0.5·x·erfc(-x/√2)
// so that it stays accurate where 1 + erf(x/√2) cancels (x ≪ 0).
func GELU64(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) }

// GELU applies GELU64 element-wise.
func GELU(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(GELU64(float64(v)))
	}
	return y
}

// Tanh applies tanh element-wise.
func Tanh(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(math.Tanh(float64(v)))
	}
	return y
}

// Add returns a + b with b broadcast over a (b's length divides a's: y[i] = a[i] + b[i % len(b)]).
func Add(a, b []float32) []float32 {
	y := make([]float32, len(a))
	for i := range a {
		y[i] = a[i] + b[i%len(b)]
	}
	return y
}
