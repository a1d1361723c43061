package ref

// GatherRows copies dst[row0+i, :] = src[idx[i], :] (rows of width w) for every i, skipping
// negative indices and clamping indices past the last source row to it, like the GPU op.
// dst is modified in place and returned.
func GatherRows[T any](dst []T, row0 int, src []T, idx []int32, w int) []T {
	rows := len(src) / w
	for i, j := range idx {
		if j < 0 {
			continue
		}
		s := min(int(j), rows-1)
		copy(dst[(row0+i)*w:(row0+i+1)*w], src[s*w:(s+1)*w])
	}
	return dst
}

// Embedding returns table[ids[i], :] for each id (rows of width w); ids outside the table
// clamp to its first or last row, like the GPU op.
func Embedding(table []float32, ids []int32, w int) []float32 {
	v := len(table) / w
	y := make([]float32, len(ids)*w)
	for i, id := range ids {
		j := min(max(int(id), 0), v-1)
		copy(y[i*w:(i+1)*w], table[j*w:(j+1)*w])
	}
	return y
}

// TextEmbedding is ViLT's text embedding before its LayerNorm (README §3.1):
// y[b,t,:] = (word[ids[b,t]] + segment[tt[b,t]]) + pos[t], for ids and tt of shape [B, T]
// (row-major, len B·T) and hidden size h. Ids clamp like the GPU op.
func TextEmbedding(word, segment, pos []float32, ids, tt []int32, seq, h int) []float32 {
	y := make([]float32, len(ids)*h)
	nv, ns := len(word)/h, len(segment)/h
	for r := range ids {
		t := r % seq
		id := min(max(int(ids[r]), 0), nv-1)
		ty := min(max(int(tt[r]), 0), ns-1)
		for d := 0; d < h; d++ {
			y[r*h+d] = (word[id*h+d] + segment[ty*h+d]) + pos[t*h+d]
		}
	}
	return y
}
