package vilt

import (
	"context"
	"fmt"

	"github.com/vilt-vk/vilt-vk/graph"
	"github.com/vilt-vk/vilt-vk/weights"
)

// layerWeights are one encoder layer's parameters on a device. Q, K and V are fused into one
// [3H, H] Linear so a layer needs one projection GEMM.
type layerWeights struct {
	lnBeforeW, lnBeforeB graph.Tensor
	qkv, out             *graph.Linear
	lnAfterW, lnAfterB   graph.Tensor
	fc1, fc2             *graph.Linear
}

// deviceWeights are every parameter of the model uploaded to one device.
type deviceWeights struct {
	word, segment, textPos graph.Tensor // [V,H], [types,H], [maxPos,H]
	textLNW, textLNB       graph.Tensor
	modality               graph.Tensor // [nmod, H]
	clsRows                graph.Tensor // [nmod, H]: cls_token + pos[0] + modality[k]
	posGrid                graph.Tensor // [pd·pd, H]: position_embeddings[0, 1:]
	patch                  *graph.Linear
	layers                 []layerWeights
	finalLNW, finalLNB     graph.Tensor
	pooler                 *graph.Linear

	// heads
	mlmTransform   *graph.Linear
	mlmLNW, mlmLNB graph.Tensor
	mlmDecoder     *graph.Linear
	cls0, cls3     *graph.Linear // VQA / NLVR2
	cls1W, cls1B   graph.Tensor
	rank           *graph.Linear // retrieval
	tokcls         *graph.Linear // token classification

	tensors []graph.Tensor
	linears []*graph.Linear
	bytes   uint64
}

func (w *deviceWeights) free() {
	for _, t := range w.tensors {
		t.Buf.Free()
	}
	for _, l := range w.linears {
		l.Free()
	}
	w.tensors, w.linears = nil, nil
}

// uploader reads canonical tensors from the mapped checkpoint and uploads them.
type uploader struct {
	ctx context.Context
	k   *graph.Kernels
	m   *weights.Model
	w   *deviceWeights
	err error
}

func (u *uploader) floats(name string, wantLen int) []float32 {
	if u.err != nil {
		return nil
	}
	t, err := u.m.Tensor(name)
	if err != nil {
		u.err = fmt.Errorf("weight %s: %w", name, err)
		return nil
	}
	v, err := t.Float32s()
	if err != nil {
		u.err = fmt.Errorf("weight %s: %w", name, err)
		return nil
	}
	if wantLen >= 0 && len(v) != wantLen {
		u.err = fmt.Errorf("weight %s: %d values, want %d", name, len(v), wantLen)
		return nil
	}
	return v
}

// tensor streams a weight straight into device memory (no host copy of it is made).
func (u *uploader) tensor(name string, shape ...int) graph.Tensor {
	if u.err != nil {
		return graph.Tensor{}
	}
	src, err := u.m.Tensor(name)
	if err != nil {
		u.err = fmt.Errorf("weight %s: %w", name, err)
		return graph.Tensor{}
	}
	t, err := graph.NewTensor(u.k.Device(), graph.F32, shape...)
	if err != nil {
		u.err = fmt.Errorf("upload %s: %w", name, err)
		return graph.Tensor{}
	}
	if src.NumElements() != t.Len() {
		t.Buf.Free()
		u.err = fmt.Errorf("weight %s: %d values, want %d", name, src.NumElements(), t.Len())
		return graph.Tensor{}
	}
	if err := u.k.Device().UploadFrom(u.ctx, t.Buf, t.Off, src.Reader(), t.Bytes()); err != nil {
		t.Buf.Free()
		u.err = fmt.Errorf("upload %s: %w", name, err)
		return graph.Tensor{}
	}
	u.w.tensors = append(u.w.tensors, t)
	u.w.bytes += t.Bytes()
	return t
}

func (u *uploader) upload(name string, v []float32, shape ...int) graph.Tensor {
	if u.err != nil {
		return graph.Tensor{}
	}
	t, err := graph.UploadTensor(u.ctx, u.k.Device(), v, shape...)
	return u.keep(name, t, err)
}

// half uploads a weight rounded to half precision (Precision fp16).
func (u *uploader) half(name string, shape ...int) graph.Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	v := u.floats(name, n)
	if u.err != nil {
		return graph.Tensor{}
	}
	t, err := graph.UploadHalf(u.ctx, u.k.Device(), v, shape...)
	return u.keep(name, t, err)
}

// keep records an uploaded weight (its memory is freed with the model), or the first error.
func (u *uploader) keep(name string, t graph.Tensor, err error) graph.Tensor {
	if err != nil {
		u.err = fmt.Errorf("upload %s: %w", name, err)
		return graph.Tensor{}
	}
	u.w.tensors = append(u.w.tensors, t)
	u.w.bytes += t.Bytes()
	return t
}

func (u *uploader) linearFrom(name string, w, b []float32, n, k int) *graph.Linear {
	if u.err != nil {
		return nil
	}
	l, err := u.k.UploadLinear(u.ctx, w, b, n, k)
	if err != nil {
		u.err = fmt.Errorf("upload %s: %w", name, err)
		return nil
	}
	u.w.linears = append(u.w.linears, l)
	u.w.bytes += l.Bytes()
	return l
}

// linear uploads prefix.weight [n,k] and prefix.bias [n] (bias optional when hasBias false).
func (u *uploader) linear(prefix string, n, k int, hasBias bool) *graph.Linear {
	w := u.floats(prefix+".weight", n*k)
	var b []float32
	if hasBias {
		b = u.floats(prefix+".bias", n)
	}
	return u.linearFrom(prefix, w, b, n, k)
}

// uploadWeights puts the model's parameters on one device.
func uploadWeights(ctx context.Context, k *graph.Kernels, cfg *Config, m *weights.Model, head weights.Head) (*deviceWeights, error) {
	w := &deviceWeights{}
	u := &uploader{ctx: ctx, k: k, m: m, w: w}
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	pd := cfg.ImageSize / cfg.PatchSize
	P, C := cfg.PatchSize, cfg.NumChannels
	nmod := cfg.ModalityTypeVocabSize

	if k.HalfEmbedding() {
		w.word = u.half("embeddings.text_embeddings.word_embeddings.weight", cfg.VocabSize, H)
	} else {
		w.word = u.tensor("embeddings.text_embeddings.word_embeddings.weight", cfg.VocabSize, H)
	}
	w.segment = u.tensor("embeddings.text_embeddings.token_type_embeddings.weight", cfg.TypeVocabSize, H)
	w.textPos = u.tensor("embeddings.text_embeddings.position_embeddings.weight", cfg.MaxPositionEmbeddings, H)
	w.textLNW = u.tensor("embeddings.text_embeddings.LayerNorm.weight", H)
	w.textLNB = u.tensor("embeddings.text_embeddings.LayerNorm.bias", H)
	modality := u.floats("embeddings.token_type_embeddings.weight", nmod*H)
	w.modality = u.upload("modality", modality, nmod, H)
	cls := u.floats("embeddings.cls_token", H)
	pos := u.floats("embeddings.position_embeddings", (1+pd*pd)*H)
	if u.err == nil {
		// The image CLS token: (cls_token + position_embeddings[0,0]) + modality[k], summed in
		// float32 in transformers' order.
		rows := make([]float32, nmod*H)
		for kk := 0; kk < nmod; kk++ {
			for i := 0; i < H; i++ {
				rows[kk*H+i] = (cls[i] + pos[i]) + modality[kk*H+i]
			}
		}
		w.clsRows = u.upload("cls rows", rows, nmod, H)
		w.posGrid = u.upload("position grid", pos[H:], pd*pd, H)
	}
	w.patch = u.linear("embeddings.patch_embeddings.projection", H, C*P*P, true)
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		var L layerWeights
		L.lnBeforeW = u.tensor(p+"layernorm_before.weight", H)
		L.lnBeforeB = u.tensor(p+"layernorm_before.bias", H)
		qkvW := make([]float32, 0, 3*H*H)
		var qkvB []float32
		if cfg.QKVBias {
			qkvB = make([]float32, 0, 3*H)
		}
		for _, part := range []string{"query", "key", "value"} {
			qkvW = append(qkvW, u.floats(p+"attention.attention."+part+".weight", H*H)...)
			if cfg.QKVBias {
				qkvB = append(qkvB, u.floats(p+"attention.attention."+part+".bias", H)...)
			}
		}
		L.qkv = u.linearFrom(p+"attention.qkv", qkvW, qkvB, 3*H, H)
		L.out = u.linear(p+"attention.output.dense", H, H, true)
		L.lnAfterW = u.tensor(p+"layernorm_after.weight", H)
		L.lnAfterB = u.tensor(p+"layernorm_after.bias", H)
		L.fc1 = u.linear(p+"intermediate.dense", I, H, true)
		L.fc2 = u.linear(p+"output.dense", H, I, true)
		w.layers = append(w.layers, L)
	}
	w.finalLNW = u.tensor("layernorm.weight", H)
	w.finalLNB = u.tensor("layernorm.bias", H)
	if head != weights.HeadTokenClassification {
		w.pooler = u.linear("pooler.dense", H, H, true)
	}
	nl := cfg.NumLabels()
	switch head {
	case weights.HeadMLM:
		w.mlmTransform = u.linear("mlm_score.transform.dense", H, H, true)
		w.mlmLNW = u.tensor("mlm_score.transform.LayerNorm.weight", H)
		w.mlmLNB = u.tensor("mlm_score.transform.LayerNorm.bias", H)
		dec := u.floats("mlm_score.decoder.weight", cfg.VocabSize*H)
		bias := u.floats("mlm_score.bias", cfg.VocabSize)
		w.mlmDecoder = u.linearFrom("mlm_score.decoder", dec, bias, cfg.VocabSize, H)
	case weights.HeadVQA, weights.HeadNLVR2:
		in, mid := H, 2*H // VQA: Linear(H→2H)
		if head == weights.HeadNLVR2 {
			n := cfg.numImages()
			in, mid = n*H, n*H // NLVR2: Linear(nH→nH) on the concatenated poolers
		}
		w.cls0 = u.linear("classifier.0", mid, in, true)
		w.cls1W = u.tensor("classifier.1.weight", mid)
		w.cls1B = u.tensor("classifier.1.bias", mid)
		w.cls3 = u.linear("classifier.3", nl, mid, true)
	case weights.HeadRetrieval:
		w.rank = u.linear("rank_output", 1, H, true)
	case weights.HeadTokenClassification:
		w.tokcls = u.linear("classifier", nl, H, true)
	}
	if u.err != nil {
		w.free()
		return nil, u.err
	}
	return w, nil
}
