package ref

import "math"

// Act is the activation a Linear reference applies after the bias.
type Act int

// Activations.
const (
	ActNone Act = iota
	ActGELU
	ActTanh
)

// Linear computes y[m,n] = act(Σ_k x[m,k]·w[n,k] + bias[n]) + residual[m,n] in float64, with
// w the PyTorch Linear weight [N,K]. bias and residual may be nil.
func Linear(x, w, bias, residual []float32, m, n, k int, act Act) []float32 {
	y := make([]float32, m*n)
	for i := 0; i < m; i++ {
		xr := x[i*k : (i+1)*k]
		for j := 0; j < n; j++ {
			wr := w[j*k : (j+1)*k]
			var acc float64
			for q := range xr {
				acc += float64(xr[q]) * float64(wr[q])
			}
			if bias != nil {
				acc += float64(bias[j])
			}
			switch act {
			case ActGELU:
				acc = GELU64(acc)
			case ActTanh:
				acc = math.Tanh(acc)
			}
			if residual != nil {
				acc += float64(residual[i*n+j])
			}
			y[i*n+j] = float32(acc)
		}
	}
	return y
}

// MatMul computes y = alpha·x·op(w) for one batch item with row strides; transW means w is
// [K,N] rather than [N,K].
func MatMul(x, w []float32, m, n, k, ldx, ldw int, transW bool, alpha float32) []float32 {
	y := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc float64
			for q := 0; q < k; q++ {
				wv := w[j*ldw+q]
				if transW {
					wv = w[q*ldw+j]
				}
				acc += float64(x[i*ldx+q]) * float64(wv)
			}
			y[i*n+j] = float32(acc * float64(alpha))
		}
	}
	return y
}
