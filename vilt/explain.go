package vilt

import (
	"context"
	"fmt"

	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/weights"
)

// ExplainMethod says how attention probabilities become a patch map.
type ExplainMethod int

const (
	// ExplainRollout is attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow
	// in Transformers", §3): each layer's head-averaged attention A gets the residual
	// connection added as A' = 0.5·A + 0.5·I with rows renormalised, and the layers are
	// multiplied, Ã = A'_N ··· A'_1. The map is the query token's row of Ã on the image
	// tokens: how much of what that token ends up holding came from each patch.
	ExplainRollout ExplainMethod = iota
	// ExplainLastLayer is the head-averaged attention of the last layer alone.
	ExplainLastLayer
)

func (m ExplainMethod) String() string {
	if m == ExplainLastLayer {
		return "last-layer"
	}
	return "rollout"
}

// ParseExplainMethod reads "rollout" (or "") and "last-layer".
func ParseExplainMethod(s string) (ExplainMethod, error) {
	switch s {
	case "", "rollout":
		return ExplainRollout, nil
	case "last-layer", "last":
		return ExplainLastLayer, nil
	}
	return 0, fmt.Errorf("unknown explanation method %q (want rollout or last-layer)", s)
}

// ExplainOptions configure Explain.
type ExplainOptions struct {
	Method ExplainMethod
}

// PatchMap is where one token looked in one image: a value per image patch, placed on the
// original image (before the processor's resize and padding). Cell (r, c) covers the original
// pixels x ∈ [X + c·CellWidth, X + (c+1)·CellWidth), y ∈ [Y + r·CellHeight, Y + (r+1)·CellHeight),
// clipped to the image; the processor's padding has no cells.
type PatchMap struct {
	Rows   int       `json:"rows"`
	Cols   int       `json:"cols"`
	Values []float32 `json:"values"` // row-major Rows×Cols: the token's attention mass on each patch
	X      float64   `json:"x"`
	Y      float64   `json:"y"`
	// CellWidth and CellHeight are one patch in original pixels (the patch size divided by
	// the resize scale of each axis).
	CellWidth   float64 `json:"cell_width"`
	CellHeight  float64 `json:"cell_height"`
	ImageWidth  int     `json:"image_width"`
	ImageHeight int     `json:"image_height"`
	Method      string  `json:"method"`
	// Query is the token position explained: 0 is the text [CLS] the pooler reads (VQA,
	// NLVR2, retrieval); fill-mask explains each [MASK] position.
	Query int `json:"query"`
}

// Range is the smallest and largest value (0, 0 for an empty map).
func (m *PatchMap) Range() (lo, hi float32) {
	for i, v := range m.Values {
		if i == 0 {
			lo, hi = v, v
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// At is cell (r, c).
func (m *PatchMap) At(r, c int) float32 { return m.Values[r*m.Cols+c] }

// Rollout returns row query of the attention explanation. layers[l] is layer l's attention
// probabilities [heads, S, S] for one example (query rows, key columns), layer 0 first.
func Rollout(layers [][]float32, heads, S, query int, method ExplainMethod) ([]float64, error) {
	if len(layers) == 0 || heads <= 0 || S <= 0 {
		return nil, fmt.Errorf("rollout: no attention (%d layers, %d heads, %d tokens)", len(layers), heads, S)
	}
	if query < 0 || query >= S {
		return nil, fmt.Errorf("rollout: query token %d outside [0, %d)", query, S)
	}
	for l, a := range layers {
		if len(a) != heads*S*S {
			return nil, fmt.Errorf("rollout: layer %d has %d values, want %d×%d×%d", l, len(a), heads, S, S)
		}
	}
	// meanHeads is the head-averaged row i of a layer, with the residual when asked.
	meanHeads := func(a []float32, i int, residual bool) []float64 {
		row := make([]float64, S)
		for h := 0; h < heads; h++ {
			src := a[(h*S+i)*S : (h*S+i+1)*S]
			for j, v := range src {
				row[j] += float64(v)
			}
		}
		for j := range row {
			row[j] /= float64(heads)
		}
		if residual {
			sum := 0.0
			for j := range row {
				row[j] *= 0.5
				sum += row[j]
			}
			row[i] += 0.5
			sum += 0.5
			for j := range row {
				row[j] /= sum
			}
		}
		return row
	}
	if method == ExplainLastLayer {
		return meanHeads(layers[len(layers)-1], query, false), nil
	}
	// The query row of A'_N ··· A'_1 is e_qᵀ·A'_N·…·A'_1: a row vector times each layer,
	// last layer first, so no S×S product is formed.
	v := make([]float64, S)
	v[query] = 1
	for l := len(layers) - 1; l >= 0; l-- {
		next := make([]float64, S)
		for i, w := range v {
			if w == 0 {
				continue
			}
			row := meanHeads(layers[l], i, true)
			for j, a := range row {
				next[j] += w * a
			}
		}
		v = next
	}
	return v, nil
}

// imageGeometry is how one prepared image sits in the batch and on the original.
type imageGeometry struct {
	patch                int // patch size in pixels
	resizedW, resizedH   int // the image after the processor's resize (before padding)
	originalW, originalH int
	gridRows, gridCols   int     // the padded batch's patch grid
	tokenStart           int     // sequence position of image token 0
	patches              []int32 // [L] patch of each image token
	tokenMask            []int64 // [1+L], image CLS first
	query                int
	method               ExplainMethod
}

// patchMap puts the image-token part of an explanation row on the patches of one image:
// each valid image token adds its value to the patch it embeds (fillers and the padding add
// nothing), and the grid is cut to the patches holding a valid token, which is the image's
// own area of the padded batch, aligned at its top-left corner.
func patchMap(row []float64, g imageGeometry) (*PatchMap, error) {
	rows, cols := 0, 0
	L := len(g.patches)
	if g.tokenStart+L > len(row) || len(g.tokenMask) != 1+L {
		return nil, fmt.Errorf("explain: %d image tokens from position %d do not fit %d tokens (mask %d)", L, g.tokenStart, len(row), len(g.tokenMask))
	}
	for j, p := range g.patches {
		if g.tokenMask[1+j] == 0 {
			continue
		}
		if p < 0 || int(p) >= g.gridRows*g.gridCols {
			return nil, fmt.Errorf("explain: image token %d embeds patch %d outside the %d×%d grid", j, p, g.gridRows, g.gridCols)
		}
		rows = max(rows, int(p)/g.gridCols+1)
		cols = max(cols, int(p)%g.gridCols+1)
	}
	if rows == 0 {
		return nil, fmt.Errorf("explain: the image has no valid patch")
	}
	m := &PatchMap{Rows: rows, Cols: cols, Values: make([]float32, rows*cols),
		ImageWidth: g.originalW, ImageHeight: g.originalH, Method: g.method.String(), Query: g.query}
	if g.resizedW > 0 && g.resizedH > 0 {
		m.CellWidth = float64(g.patch) * float64(g.originalW) / float64(g.resizedW)
		m.CellHeight = float64(g.patch) * float64(g.originalH) / float64(g.resizedH)
	}
	for j, p := range g.patches {
		if g.tokenMask[1+j] == 0 {
			continue
		}
		r, c := int(p)/g.gridCols, int(p)%g.gridCols
		m.Values[r*cols+c] += float32(row[g.tokenStart+j])
	}
	return m, nil
}

// Explain runs one example (an encoded text and its image(s): one, or left and right for
// NLVR2) through the model with attentions and returns a patch map per image of where token
// query looked (0: the [CLS] the pooler reads). It costs one forward with attentions; images
// are the originals, so the maps are placed on them.
func (p *Pipeline) Explain(ctx context.Context, images []*processor.RGBImage, enc processor.Encoding, query int, opts ExplainOptions) ([]*PatchMap, error) {
	if want := p.Model.imagesPerExample(); len(images) != want {
		return nil, badInput("explain: %d image(s), the %s model takes %d", len(images), p.Model.Head, want)
	}
	if query < 0 || query >= len(enc.IDs) {
		return nil, badInput("explain: query token %d outside the text's %d tokens", query, len(enc.IDs))
	}
	pix, err := p.prepareAll(images)
	if err != nil {
		return nil, err
	}
	in, err := p.batchInputs([]Example{{Encoding: enc, Images: pix}}, 0)
	if err != nil {
		return nil, err
	}
	out, err := p.Model.Forward(ctx, in, ForwardOptions{OutputAttentions: true, SkipLastHiddenState: true})
	if err != nil {
		return nil, err
	}
	cfg := p.Model.Config
	maps := make([]*PatchMap, len(images))
	for img := range images {
		pfx := ""
		if p.Model.Head == weights.HeadNLVR2 {
			pfx = fmt.Sprintf("img%d.", img)
		}
		var layers [][]float32
		heads, S := 0, 0
		for l := 0; ; l++ {
			t, ok := out.Tensors[fmt.Sprintf("%sattentions.%d", pfx, l)]
			if !ok {
				break
			}
			if len(t.Shape) != 4 || t.Shape[0] != 1 || t.Shape[2] != t.Shape[3] {
				return nil, fmt.Errorf("explain: attentions.%d has shape %v, want [1, heads, S, S]", l, t.Shape)
			}
			heads, S = t.Shape[1], t.Shape[2]
			layers = append(layers, t.Data)
		}
		if len(layers) == 0 {
			return nil, fmt.Errorf("explain: the forward returned no %sattentions (outputs %v)", pfx, out.Names())
		}
		if img >= len(out.ImagePatches) || img >= len(out.ImageTokenMask) {
			return nil, fmt.Errorf("explain: the forward returned no token plan for image %d", img)
		}
		row, err := Rollout(layers, heads, S, query, opts.Method)
		if err != nil {
			return nil, err
		}
		maps[img], err = patchMap(row, imageGeometry{
			patch: cfg.PatchSize, resizedW: pix[img].Width, resizedH: pix[img].Height,
			originalW: images[img].Width, originalH: images[img].Height,
			gridRows: out.PatchRows, gridCols: out.PatchCols, tokenStart: in.SeqLen + 1,
			patches: out.ImagePatches[img], tokenMask: out.ImageTokenMask[img], query: query, method: opts.Method,
		})
		if err != nil {
			return nil, err
		}
	}
	return maps, nil
}

// Explain encodes text with the tasks' truncation policy and explains the pooled token (the
// prediction of VQA, NLVR2 and retrieval) on images.
func (t *Tasks) Explain(ctx context.Context, images []*processor.RGBImage, text string, opts ExplainOptions) ([]*PatchMap, error) {
	enc, err := t.Encode(text, "")
	if err != nil {
		return nil, err
	}
	return t.P.Explain(ctx, images, enc, 0, opts)
}

// ExplainFillMask explains every step of a fill-mask result: the masked token's own position
// in the text that step read, on image. It sets each step's Explanation.
func (t *Tasks) ExplainFillMask(ctx context.Context, image *processor.RGBImage, res *FillMaskResult, opts ExplainOptions) error {
	for i := range res.Steps {
		st := &res.Steps[i]
		if st.input.IDs == nil {
			return fmt.Errorf("explain: fill-mask step %d carries no input (not made by FillMask)", i)
		}
		maps, err := t.P.Explain(ctx, []*processor.RGBImage{image}, st.input, st.Position, opts)
		if err != nil {
			return fmt.Errorf("explain mask %d: %w", st.Mask, err)
		}
		st.Explanation = maps[0]
	}
	return nil
}

// ExplainPairs explains the pooled token of every (image, text) pair, image-major
// (result[i*len(texts)+j]), as VQA and Rank order their results: one forward with attentions
// per pair.
func (t *Tasks) ExplainPairs(ctx context.Context, images []*processor.RGBImage, texts []string, opts ExplainOptions) ([]*PatchMap, error) {
	out := make([]*PatchMap, 0, len(images)*len(texts))
	for i, img := range images {
		for j, text := range texts {
			maps, err := t.Explain(ctx, []*processor.RGBImage{img}, text, opts)
			if err != nil {
				return nil, fmt.Errorf("explain image %d, text %d: %w", i, j, err)
			}
			out = append(out, maps[0])
		}
	}
	return out, nil
}
