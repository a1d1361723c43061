package ref

import "math"

// Attention is multi-head attention as transformers' ViLT computes it, in float64:
// for each batch b, head h and query q, p = softmax(q·kᵀ/√d + maskAdd[b]) over keys and
// ctx = p·v. qkv is [B, S, 3H] (Q|K|V), maskAdd [B, S]. It returns ctx [B, S, H] and the
// probabilities [B, heads, S, S].
func Attention(qkv, maskAdd []float32, b, s, hid, heads int) (ctx, probs []float32) {
	d := hid / heads
	ctx = make([]float32, b*s*hid)
	probs = make([]float32, b*heads*s*s)
	sqrtD := float32(math.Sqrt(float64(d)))
	sc := make([]float64, s)
	for bi := 0; bi < b; bi++ {
		row := func(t, part, h int) []float32 {
			o := (bi*s+t)*3*hid + part*hid + h*d
			return qkv[o : o+d]
		}
		for h := 0; h < heads; h++ {
			for q := 0; q < s; q++ {
				qv := row(q, 0, h)
				mx := math.Inf(-1)
				for key := 0; key < s; key++ {
					kv := row(key, 1, h)
					var acc float64
					for i := range qv {
						acc += float64(qv[i]) * float64(kv[i])
					}
					// As torch: float32 scores divided by √d, then the float32 mask added.
					v := float64(float32(acc)/sqrtD + maskAdd[bi*s+key])
					sc[key] = v
					mx = math.Max(mx, v)
				}
				var sum float64
				for key := range sc[:s] {
					sc[key] = math.Exp(sc[key] - mx)
					sum += sc[key]
				}
				po := ((bi*heads+h)*s + q) * s
				out := ctx[(bi*s+q)*hid+h*d : (bi*s+q)*hid+h*d+d]
				acc := make([]float64, d)
				for key := 0; key < s; key++ {
					pk := sc[key] / sum
					probs[po+key] = float32(pk)
					vv := row(key, 2, h)
					for i := range acc {
						acc[i] += pk * float64(vv[i])
					}
				}
				for i := range out {
					out[i] = float32(acc[i])
				}
			}
		}
	}
	return ctx, probs
}
