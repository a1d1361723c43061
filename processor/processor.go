package processor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// Processor is ViltProcessor: the tokenizer and the image processor together.
type Processor struct {
	Tokenizer *Tokenizer
	Images    *ImageProcessor
}

// LoadProcessor reads a model folder's tokenizer files and preprocessor_config.json.
func LoadProcessor(fsys fs.FS) (*Processor, error) {
	tok, err := LoadTokenizer(fsys)
	if err != nil {
		return nil, err
	}
	opts, err := LoadImageOptions(fsys, "preprocessor_config.json")
	if err != nil {
		return nil, err
	}
	ip, err := NewImageProcessor(opts)
	if err != nil {
		return nil, err
	}
	return &Processor{Tokenizer: tok, Images: ip}, nil
}

// Inputs is one call: a text (and optional second segment) per sample and
// ImagesPerText images per sample, in order (NLVR2 uses 2: left, right).
type Inputs struct {
	Texts         []string
	TextPairs     []string // nil, or one per text
	Images        []*RGBImage
	ImagesPerText int // 0 means 1
}

// Batch holds model inputs under transformers' names, row-major:
// InputIDs/AttentionMask/TokenTypeIDs [BatchSize, SeqLen]; PixelValues
// [BatchSize, 3, Height, Width], or [BatchSize, ImagesPerText, 3, Height, Width]
// when ImagesPerText > 1; PixelMask likewise without the channel axis (nil when
// the image processor does not pad).
type Batch struct {
	BatchSize, SeqLen int
	InputIDs          []int64
	AttentionMask     []int64
	TokenTypeIDs      []int64

	ImagesPerText int
	Height, Width int
	PixelValues   []float32
	PixelMask     []int64

	// Encodings are the per-text details (tokens, truncation).
	Encodings []Encoding
}

// Process tokenizes the texts and preprocesses the images into one batch.
func (p *Processor) Process(in Inputs, opts EncodeOptions) (*Batch, error) {
	n := in.ImagesPerText
	if n <= 0 {
		n = 1
	}
	if len(in.Texts) == 0 {
		return nil, errors.New("process: no texts")
	}
	if len(in.Images) != len(in.Texts)*n {
		return nil, fmt.Errorf("process: %d texts with %d image(s) each need %d images, got %d", len(in.Texts), n, len(in.Texts)*n, len(in.Images))
	}
	enc, err := p.Tokenizer.EncodeBatch(in.Texts, in.TextPairs, opts)
	if err != nil {
		return nil, err
	}
	pix, err := p.Images.Preprocess(in.Images)
	if err != nil {
		return nil, err
	}
	return &Batch{
		BatchSize: enc.Batch, SeqLen: enc.SeqLen,
		InputIDs: enc.InputIDs, AttentionMask: enc.AttentionMask, TokenTypeIDs: enc.TokenTypeIDs,
		ImagesPerText: n, Height: pix.Height, Width: pix.Width,
		PixelValues: pix.PixelValues, PixelMask: pix.PixelMask,
		Encodings: enc.Encodings,
	}, nil
}

// TextShape is the shape of InputIDs, AttentionMask and TokenTypeIDs.
func (b *Batch) TextShape() []int { return []int{b.BatchSize, b.SeqLen} }

// PixelValuesShape is [B,3,H,W], or [B,n,3,H,W] for n > 1 images per text.
func (b *Batch) PixelValuesShape() []int {
	if b.ImagesPerText > 1 {
		return []int{b.BatchSize, b.ImagesPerText, 3, b.Height, b.Width}
	}
	return []int{b.BatchSize, 3, b.Height, b.Width}
}

// PixelMaskShape is [B,H,W], or [B,n,H,W] for n > 1 images per text.
func (b *Batch) PixelMaskShape() []int {
	if b.ImagesPerText > 1 {
		return []int{b.BatchSize, b.ImagesPerText, b.Height, b.Width}
	}
	return []int{b.BatchSize, b.Height, b.Width}
}

// WriteSafetensors writes the batch as a .safetensors file with transformers'
// tensor names: input_ids, attention_mask, token_type_ids, pixel_mask (I64) and
// pixel_values (F32). metadata goes into __metadata__.
func (b *Batch) WriteSafetensors(w io.Writer, metadata map[string]string) error {
	ts := []Tensor{
		{Name: "input_ids", Shape: b.TextShape(), I64: b.InputIDs},
		{Name: "attention_mask", Shape: b.TextShape(), I64: b.AttentionMask},
		{Name: "token_type_ids", Shape: b.TextShape(), I64: b.TokenTypeIDs},
		{Name: "pixel_values", Shape: b.PixelValuesShape(), F32: b.PixelValues},
	}
	if b.PixelMask != nil {
		ts = append(ts, Tensor{Name: "pixel_mask", Shape: b.PixelMaskShape(), I64: b.PixelMask})
	}
	return WriteSafetensors(w, ts, metadata)
}
