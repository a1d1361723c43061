package vilt

import (
	"context"
	"fmt"

	"github.com/vilt-vk/vilt-vk/graph"
	"github.com/vilt-vk/vilt-vk/weights"
)

// executable returns the compiled forward for key, compiling (and caching) it on first use.
// r.mu must be held.
func (r *replica) executable(ctx context.Context, key shapeKey) (*graph.Executable, error) {
	if e, ok := r.cache[key]; ok {
		for i, k := range r.order {
			if k == key {
				r.order = append(append(r.order[:i:i], r.order[i+1:]...), key)
				break
			}
		}
		return e, nil
	}
	// Evict least recently used forwards: at most maxCachedShapes, and their activation
	// memory within maxCachedBytes (a server sees many shapes; each keeps an arena).
	for len(r.order) > 0 && (len(r.order) >= maxCachedShapes || r.cachedBytes() > maxCachedBytes) {
		old := r.order[0]
		r.order = r.order[1:]
		r.cache[old].Close()
		delete(r.cache, old)
	}
	e, err := r.buildProgram(key)
	if err != nil {
		return nil, err
	}
	if err := r.setShapeInputs(ctx, e, key); err != nil {
		e.Close()
		return nil, err
	}
	r.cache[key] = e
	r.order = append(r.order, key)
	return e, nil
}

func (r *replica) cachedBytes() uint64 {
	var n uint64
	for _, e := range r.cache {
		st := e.Stats()
		n += st.ArenaBytes + st.InputBytes + st.OutputBytes
	}
	return n
}

// setShapeInputs uploads the index tables that depend only on the shape, once per compiled
// forward: where text rows go in the sequence, the pooler rows, the MLM/token-classification
// text rows and NLVR2's pooler concatenation.
func (r *replica) setShapeInputs(ctx context.Context, e *graph.Executable, key shapeKey) error {
	B, T := key.B, key.T
	S := T + 1 + key.L
	idxText := make([]int32, B*S)
	idxPool := make([]int32, B)
	idxTextRows := make([]int32, B*T)
	for i := range idxText {
		idxText[i] = -1
	}
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			idxText[b*S+t] = int32(b*T + t)
			idxTextRows[b*T+t] = int32(b*S + t)
		}
		idxPool[b] = int32(b * S)
		if key.textRowsOnly {
			idxPool[b] = int32(b * T) // the final hidden state holds the text rows only
		}
	}
	inputs := map[string][]int32{"idx_text": idxText, "idx_pool": idxPool}
	if key.textRowsOnly || r.head == weights.HeadMLM || r.head == weights.HeadTokenClassification {
		inputs["idx_text_rows"] = idxTextRows
	}
	if r.head == weights.HeadNLVR2 {
		n := key.N
		for i := 0; i < n; i++ {
			idx := make([]int32, B*n)
			for j := range idx {
				idx[j] = -1
			}
			for b := 0; b < B; b++ {
				idx[b*n+i] = int32(b)
			}
			inputs[fmt.Sprintf("idx_concat%d", i)] = idx
		}
	}
	for name, v := range inputs {
		if err := e.SetInput(ctx, name, v); err != nil {
			return err
		}
	}
	return nil
}

// forward runs one (sub-)batch on this device.
// L is the image token count of every pass and plans the passes' token plans (nil entries
// with image_embeds), both made by Model.Forward for the whole batch.
func (r *replica) forward(ctx context.Context, in *Inputs, opts ForwardOptions, L int, plans []*imagePlan) (*Outputs, error) {
	cfg := r.cfg
	B, T, H := in.Batch, in.SeqLen, cfg.HiddenSize
	S := T + 1 + L
	modIdx := opts.ImageTokenTypeIdx
	if modIdx == 0 {
		modIdx = 1
	}
	if modIdx < 0 || modIdx >= cfg.ModalityTypeVocabSize {
		return nil, fmt.Errorf("vilt: image_token_type_idx %d outside [0, %d)", modIdx, cfg.ModalityTypeVocabSize)
	}
	if r.head == weights.HeadNLVR2 && cfg.ModalityTypeVocabSize < in.NumImages+1 {
		return nil, fmt.Errorf("vilt: %d images need modality_type_vocab_size ≥ %d", in.NumImages, in.NumImages+1)
	}
	key := shapeKey{B: B, T: T, H: in.Height, W: in.Width, L: L, N: in.NumImages,
		hidden: opts.OutputHiddenStates, attn: opts.OutputAttentions, modIdx: modIdx, profile: opts.Profile,
		textEmbeds: in.InputsEmbeds != nil, imageEmbeds: in.ImageEmbeds != nil,
		textRowsOnly: opts.SkipLastHiddenState && !opts.OutputHiddenStates}
	if key.imageEmbeds {
		key.H, key.W = cfg.PatchSize, cfg.PatchSize // pixels are not used
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cache == nil {
		return nil, fmt.Errorf("vilt: model closed")
	}
	e, err := r.executable(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("vilt: build forward for %d×%d tokens: %w", B, S, err)
	}

	ids := make([]int32, B*T)
	for i := range ids {
		if in.InputIDs != nil {
			ids[i] = int32(in.InputIDs[i])
		}
	}
	tt := make([]int32, B*T)
	for i := range tt {
		if in.TokenTypeIDs != nil {
			tt[i] = int32(in.TokenTypeIDs[i])
		}
	}
	set := func(name string, v any) {
		if err == nil {
			err = e.SetInput(ctx, name, v)
		}
	}
	set("input_ids", ids)
	if key.textEmbeds {
		set("inputs_embeds", in.InputsEmbeds)
	}
	set("token_type_ids", tt)
	out := &Outputs{Tensors: map[string]*Tensor{}, SeqLen: S, ImageTokens: L}
	P := cfg.PatchSize
	for img := 0; img < in.NumImages; img++ {
		pfx := ""
		cls := int32(modIdx)
		if r.head == weights.HeadNLVR2 {
			pfx = fmt.Sprintf("img%d.", img)
			cls = int32(img + 1)
		}
		// Source rows of the image CLS and the image tokens, and their masks.
		srcCLS := func(b int) int32 { return cls }
		var srcTok func(b, j int) int32
		var tokMaskOf func(b, j int) float32
		if key.imageEmbeds {
			srcCLS = func(b int) int32 { return int32(b * (1 + L)) }
			srcTok = func(b, j int) int32 { return int32(b*(1+L) + 1 + j) }
			tokMaskOf = func(b, j int) float32 {
				if in.ImageMask == nil {
					return 1
				}
				return float32(in.ImageMask[(b*in.NumImages+img)*(1+L)+1+j])
			}
		} else {
			pl := plans[img]
			np := (in.Height / P) * (in.Width / P)
			srcTok = func(b, j int) int32 { return int32(b*np + pl.tokens[b][j]) }
			tokMaskOf = func(b, j int) float32 { return pl.tokenMask[b][j] }
			pix := in.PixelValues
			if in.NumImages > 1 {
				C, hw := cfg.NumChannels, in.Height*in.Width
				pix = make([]float32, B*C*hw)
				for b := 0; b < B; b++ {
					copy(pix[b*C*hw:(b+1)*C*hw], in.PixelValues[(b*in.NumImages+img)*C*hw:(b*in.NumImages+img+1)*C*hw])
				}
			}
			set(pfx+"pixel_values", pix)
			set(pfx+"sizes", pl.sizes)
			patches := make([]int32, 0, B*L)
			for b := 0; b < B; b++ {
				for _, t := range pl.tokens[b] {
					patches = append(patches, int32(t))
				}
			}
			out.ImagePatches = append(out.ImagePatches, patches)
			out.PatchRows, out.PatchCols = pl.hp, pl.wp
		}
		if key.imageEmbeds {
			e := (1 + L) * H
			emb := in.ImageEmbeds
			if in.NumImages > 1 {
				emb = make([]float32, B*e)
				for b := 0; b < B; b++ {
					copy(emb[b*e:(b+1)*e], in.ImageEmbeds[(b*in.NumImages+img)*e:(b*in.NumImages+img+1)*e])
				}
			}
			set(pfx+"image_embeds", emb)
		}
		idxImg := make([]int32, B*S)
		idxCLS := make([]int32, B*S)
		maskAdd := make([]float32, B*S)
		tokMask := make([]int64, B*(1+L))
		for i := range idxImg {
			idxImg[i], idxCLS[i] = -1, -1
		}
		for b := 0; b < B; b++ {
			idxCLS[b*S+T] = srcCLS(b)
			for t := 0; t < T; t++ {
				m := float32(1)
				if in.AttentionMask != nil {
					m = float32(in.AttentionMask[b*T+t])
				}
				maskAdd[b*S+t] = (1 - m) * graph.MaskMin
			}
			clsMask := float32(1)
			if key.imageEmbeds && in.ImageMask != nil {
				clsMask = float32(in.ImageMask[(b*in.NumImages+img)*(1+L)])
			}
			maskAdd[b*S+T] = (1 - clsMask) * graph.MaskMin
			tokMask[b*(1+L)] = int64(clsMask)
			for j := 0; j < L; j++ {
				mj := tokMaskOf(b, j)
				idxImg[b*S+T+1+j] = srcTok(b, j)
				maskAdd[b*S+T+1+j] = (1 - mj) * graph.MaskMin
				tokMask[b*(1+L)+1+j] = int64(mj)
			}
		}
		set(pfx+"idx_img", idxImg)
		set(pfx+"idx_cls", idxCLS)
		set(pfx+"mask_add", maskAdd)
		out.ImageTokenMask = append(out.ImageTokenMask, tokMask)
	}
	if err != nil {
		return nil, err
	}
	if err := e.Run(ctx); err != nil {
		return nil, fmt.Errorf("vilt: forward: %w", err)
	}
	for _, name := range e.OutputNames() {
		v, err := e.Output(ctx, name)
		if err != nil {
			return nil, err
		}
		out.Tensors[name] = &Tensor{Shape: e.OutputShape(name), Data: v}
	}
	if opts.Profile {
		if out.Profile, err = e.Profile(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
