package vilt

import (
	"fmt"
	"math/rand/v2"
)

// Inputs is one batch in transformers' layout: flat row-major slices plus their shape, with
// transformers' tensor names (input_ids, attention_mask, token_type_ids, pixel_values,
// pixel_mask).
type Inputs struct {
	Batch     int // B
	SeqLen    int // T, text tokens per example (padded)
	NumImages int // images per example: 1, or num_images for NLVR2 (pixel_values [B,N,3,H,W])
	Height    int // pixel rows (padded)
	Width     int // pixel columns (padded)

	InputIDs      []int64   // [B, T]
	AttentionMask []int64   // [B, T]; nil means all ones
	TokenTypeIDs  []int64   // [B, T]; nil means zeros
	PixelValues   []float32 // [B, N, 3, H, W]
	PixelMask     []int64   // [B, N, H, W]; nil means all ones

	// InputsEmbeds, when set, replaces the word-embedding lookup of InputIDs (which may then
	// be nil): [B, T, hidden], as transformers' inputs_embeds.
	InputsEmbeds []float32
	// ImageEmbeds, when set, replaces the visual embedding of the pixels: [B, N, 1+L, hidden]
	// with the image CLS first (transformers' image_embeds); ImageTokens is L and ImageMask
	// [B, N, 1+L] the token mask (nil means all ones). PixelValues may then be nil.
	ImageEmbeds []float32
	ImageTokens int
	ImageMask   []int64
}

// ForwardOptions select optional outputs and ViLT's knobs.
type ForwardOptions struct {
	// OutputHiddenStates returns hidden_states.0..N (the embeddings and every layer's output,
	// before the final LayerNorm), as transformers' output_hidden_states.
	OutputHiddenStates bool
	// OutputAttentions returns attentions.0..N-1, the softmax probabilities [B, heads, S, S].
	OutputAttentions bool
	// ImageTokenTypeIdx is the modality row added to image tokens (default 1; NLVR2 uses i+1
	// for image i and ignores this).
	ImageTokenTypeIdx int
	// Profile times every op on the GPU (devices with timestamps); see Outputs.Profile.
	// A profiled forward is compiled separately from the normal one.
	Profile bool
	// Seed drives the patch sampler used when config.max_image_length > 0 (see imagePlan).
	Seed uint64
	// SkipLastHiddenState leaves last_hidden_state out of the outputs. The last layer then
	// runs its attention output and feed-forward on the text rows only, the rows the pooler
	// and every head read: about 1/12 less work for ViLT-B, the same logits and
	// pooler_output. Ignored with OutputHiddenStates.
	SkipLastHiddenState bool
}

// validate checks shapes and value ranges before anything reaches a device.
func (in *Inputs) validate(cfg *Config, images int) error {
	B, T := in.Batch, in.SeqLen
	if B <= 0 || T <= 0 {
		return fmt.Errorf("inputs: batch %d and text length %d must be positive", B, T)
	}
	if T > cfg.MaxPositionEmbeddings {
		return fmt.Errorf("inputs: text length %d exceeds max_position_embeddings %d (truncate the text)", T, cfg.MaxPositionEmbeddings)
	}
	if in.InputsEmbeds != nil {
		if len(in.InputsEmbeds) != B*T*cfg.HiddenSize {
			return fmt.Errorf("inputs: inputs_embeds has %d values, want %d×%d×%d", len(in.InputsEmbeds), B, T, cfg.HiddenSize)
		}
	} else if len(in.InputIDs) != B*T {
		return fmt.Errorf("inputs: input_ids has %d values, want %d×%d", len(in.InputIDs), B, T)
	}
	for i, id := range in.InputIDs {
		if id < 0 || id >= int64(cfg.VocabSize) {
			return fmt.Errorf("inputs: input_ids[%d] = %d outside the vocabulary [0, %d)", i, id, cfg.VocabSize)
		}
	}
	if in.AttentionMask != nil && len(in.AttentionMask) != B*T {
		return fmt.Errorf("inputs: attention_mask has %d values, want %d×%d", len(in.AttentionMask), B, T)
	}
	if in.TokenTypeIDs != nil {
		if len(in.TokenTypeIDs) != B*T {
			return fmt.Errorf("inputs: token_type_ids has %d values, want %d×%d", len(in.TokenTypeIDs), B, T)
		}
		for i, v := range in.TokenTypeIDs {
			if v < 0 || v >= int64(cfg.TypeVocabSize) {
				return fmt.Errorf("inputs: token_type_ids[%d] = %d outside [0, %d)", i, v, cfg.TypeVocabSize)
			}
		}
	}
	if in.NumImages != images {
		return fmt.Errorf("inputs: %d image(s) per example, the model takes %d", in.NumImages, images)
	}
	if in.ImageEmbeds != nil {
		L := in.ImageTokens
		if L <= 0 || len(in.ImageEmbeds) != B*images*(1+L)*cfg.HiddenSize {
			return fmt.Errorf("inputs: image_embeds has %d values, want %d×%d×%d×%d (ImageTokens %d)", len(in.ImageEmbeds), B, images, 1+L, cfg.HiddenSize, L)
		}
		if in.ImageMask != nil && len(in.ImageMask) != B*images*(1+L) {
			return fmt.Errorf("inputs: image mask has %d values, want %d×%d×%d", len(in.ImageMask), B, images, 1+L)
		}
		return nil
	}
	P := cfg.PatchSize
	if in.Height < P || in.Width < P {
		return fmt.Errorf("inputs: image %d×%d is smaller than one %d-pixel patch", in.Height, in.Width, P)
	}
	npx := B * images * in.Height * in.Width
	if len(in.PixelValues) != npx*cfg.NumChannels {
		return fmt.Errorf("inputs: pixel_values has %d values, want %d×%d×%d×%d×%d", len(in.PixelValues), B, images, cfg.NumChannels, in.Height, in.Width)
	}
	if in.PixelMask != nil && len(in.PixelMask) != npx {
		return fmt.Errorf("inputs: pixel_mask has %d values, want %d×%d×%d×%d", len(in.PixelMask), B, images, in.Height, in.Width)
	}
	return nil
}

// imagePlan is the host-side part of ViLT's visual embedding for one image pass: the patch
// mask, each sample's valid rectangle and the order of its image tokens.
type imagePlan struct {
	hp, wp int
	sizes  []int32 // [B, 2]: (x_h, x_w)
	L      int     // image tokens per sample (without the image CLS)
	// tokens[b][j] is the patch index (r·wp + c) of image token j of sample b;
	// tokenMask[b][j] its mask (1 valid, 0 filler).
	tokens    [][]int
	tokenMask [][]float32
}

// slice is the plan of examples [b0, b0+n) (a part of a batch split across devices).
func (pl *imagePlan) slice(b0, n int) *imagePlan {
	return &imagePlan{hp: pl.hp, wp: pl.wp, L: pl.L, sizes: pl.sizes[2*b0 : 2*(b0+n)],
		tokens: pl.tokens[b0 : b0+n], tokenMask: pl.tokenMask[b0 : b0+n]}
}

// patchMask samples a pixel mask [H, W] at each patch with PyTorch's legacy nearest rule
// (README §3.3): sy(r) = min(floor(r · float32(H)/hp), H-1) in float32.
func patchMask(mask []int64, h, w, hp, wp int) []bool {
	out := make([]bool, hp*wp)
	sy := float32(h) / float32(hp)
	sx := float32(w) / float32(wp)
	for r := 0; r < hp; r++ {
		y := min(int(float32(r)*sy), h-1)
		for c := 0; c < wp; c++ {
			x := min(int(float32(c)*sx), w-1)
			out[r*wp+c] = mask == nil || mask[y*w+x] != 0
		}
	}
	return out
}

// planImages computes the patch masks, valid rectangles and token order of image pass img.
//
// Order: valid patches in row-major order, then fillers (the first padded patches in
// row-major order), which is transformers' selection up to its random permutation; see the
// golden README §3.5. With max_image_length > 0, a sample with more valid patches than L keeps
// a subset of L drawn by a PCG generator seeded with opts.Seed and the sample index, kept in
// row-major order. (transformers draws with torch.multinomial, so outputs cannot match it
// there; every other case matches.)
func planImages(cfg *Config, in *Inputs, img int, seed uint64, L0 int) (*imagePlan, error) {
	P := cfg.PatchSize
	hp, wp := in.Height/P, in.Width/P
	pl := &imagePlan{hp: hp, wp: wp, sizes: make([]int32, 2*in.Batch)}
	masks := make([][]bool, in.Batch)
	maxRect := 0
	for b := 0; b < in.Batch; b++ {
		var pm []int64
		if in.PixelMask != nil {
			o := (b*in.NumImages + img) * in.Height * in.Width
			pm = in.PixelMask[o : o+in.Height*in.Width]
		}
		m := patchMask(pm, in.Height, in.Width, hp, wp)
		masks[b] = m
		xh, xw := 0, 0
		for r := 0; r < hp; r++ {
			if m[r*wp] {
				xh++
			}
		}
		for c := 0; c < wp; c++ {
			if m[c] {
				xw++
			}
		}
		if xh == 0 || xw == 0 {
			return nil, fmt.Errorf("inputs: image %d of example %d has no valid patch (pixel_mask is empty at its top-left)", img, b)
		}
		pl.sizes[2*b], pl.sizes[2*b+1] = int32(xh), int32(xw)
		maxRect = max(maxRect, xh*xw)
	}
	L := maxRect
	if cfg.MaxImageLength > 0 {
		L = min(L, cfg.MaxImageLength)
	}
	if L0 > 0 { // a batch split across devices keeps the whole batch's L
		L = L0
	}
	pl.L = L
	for b := 0; b < in.Batch; b++ {
		var valid, pad []int
		for i, ok := range masks[b] {
			if ok {
				valid = append(valid, i)
			} else {
				pad = append(pad, i)
			}
		}
		if len(valid) > L {
			rng := rand.New(rand.NewPCG(seed, 0x9E3779B97F4A7C15^uint64(b)))
			keep := rng.Perm(len(valid))[:L]
			sel := make([]bool, len(valid))
			for _, i := range keep {
				sel[i] = true
			}
			var sub []int
			for i, v := range valid {
				if sel[i] {
					sub = append(sub, v)
				}
			}
			valid = sub
		}
		toks := make([]int, 0, L)
		tmask := make([]float32, 0, L)
		toks = append(toks, valid...)
		for range valid {
			tmask = append(tmask, 1)
		}
		fill := pad
		if len(fill) == 0 { // masked fillers: no token attends to them, any patch will do
			fill = valid
		}
		for j := 0; len(toks) < L; j++ {
			toks = append(toks, fill[j%len(fill)])
			tmask = append(tmask, 0)
		}
		pl.tokens = append(pl.tokens, toks)
		pl.tokenMask = append(pl.tokenMask, tmask)
	}
	return pl, nil
}
