package processor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
)

// TokenizerOptions are BertTokenizer's settings (tokenizer_config.json).
// DefaultTokenizerOptions gives ViLT's (bert-base-uncased, model_max_length 40).
type TokenizerOptions struct {
	DoLowerCase bool
	// StripAccents nil means "strip when lower-casing", as BertTokenizer's None does.
	StripAccents         *bool
	TokenizeChineseChars bool
	// DoBasicTokenize false skips cleaning/punctuation splitting (WordPiece on whitespace words only).
	DoBasicTokenize bool
	// NeverSplit words are passed through unchanged by the basic tokenizer.
	NeverSplit              []string
	MaxInputCharsPerWord    int
	ContinuingSubwordPrefix string

	UnkToken, ClsToken, SepToken, PadToken, MaskToken string
	// SpecialTokens are further special tokens (additional_special_tokens and
	// special added tokens): recognised in text, never split, skipped by Decode.
	SpecialTokens []string

	// ModelMaxLength is the longest sequence (with special tokens) the model takes:
	// max_position_embeddings, 40 for ViLT.
	ModelMaxLength            int
	CleanUpTokenizationSpaces bool
}

// DefaultTokenizerOptions returns the settings of ViLT's tokenizer.
func DefaultTokenizerOptions() TokenizerOptions {
	return TokenizerOptions{
		DoLowerCase:               true,
		TokenizeChineseChars:      true,
		DoBasicTokenize:           true,
		MaxInputCharsPerWord:      100,
		ContinuingSubwordPrefix:   "##",
		UnkToken:                  "[UNK]",
		ClsToken:                  "[CLS]",
		SepToken:                  "[SEP]",
		PadToken:                  "[PAD]",
		MaskToken:                 "[MASK]",
		ModelMaxLength:            40,
		CleanUpTokenizationSpaces: true,
	}
}

// tokenString accepts both forms transformers writes for a special token:
// a plain string or an AddedToken object {"content": ...}.
type tokenString string

func (t *tokenString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = tokenString(s)
		return nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("special token: want a string or {\"content\": ...}, got %s", b)
	}
	*t = tokenString(obj.Content)
	return nil
}

// tokenizerConfigJSON is tokenizer_config.json; special_tokens_map.json uses its token keys.
type tokenizerConfigJSON struct {
	DoLowerCase *bool `json:"do_lower_case"`
	// StripAccents is raw so that an absent key (keep) differs from null (Python None).
	StripAccents            json.RawMessage `json:"strip_accents"`
	TokenizeChineseChars    *bool           `json:"tokenize_chinese_chars"`
	DoBasicTokenize         *bool           `json:"do_basic_tokenize"`
	NeverSplit              []string        `json:"never_split"`
	ModelMaxLength          *float64        `json:"model_max_length"`
	CleanUpTokenizationSpac *bool           `json:"clean_up_tokenization_spaces"`
	UnkToken                *tokenString    `json:"unk_token"`
	ClsToken                *tokenString    `json:"cls_token"`
	SepToken                *tokenString    `json:"sep_token"`
	PadToken                *tokenString    `json:"pad_token"`
	MaskToken               *tokenString    `json:"mask_token"`
	AdditionalSpecialTokens []tokenString   `json:"additional_special_tokens"`
	AddedTokensDecoder      map[string]struct {
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens_decoder"`
	TokenizerClass string `json:"tokenizer_class"`
}

// setIf copies a field the file sets (src non-nil) into dst.
func setIf[T any](dst, src *T) {
	if src != nil {
		*dst = *src
	}
}

// ParseTokenizerConfig applies the fields of a tokenizer_config.json (or of a
// special_tokens_map.json, which holds only the special-token keys) to opts; absent
// fields keep their current values.
func ParseTokenizerConfig(data []byte, opts *TokenizerOptions) error {
	var c tokenizerConfigJSON
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("parse tokenizer config: %w", err)
	}
	setIf(&opts.DoLowerCase, c.DoLowerCase)
	if len(c.StripAccents) > 0 {
		var sa *bool
		if err := json.Unmarshal(c.StripAccents, &sa); err != nil {
			return fmt.Errorf("parse tokenizer config: strip_accents: want true, false or null, got %s", c.StripAccents)
		}
		opts.StripAccents = sa
	}
	setIf(&opts.TokenizeChineseChars, c.TokenizeChineseChars)
	setIf(&opts.DoBasicTokenize, c.DoBasicTokenize)
	if c.NeverSplit != nil {
		opts.NeverSplit = c.NeverSplit
	}
	if c.ModelMaxLength != nil {
		m := *c.ModelMaxLength
		// transformers writes 1e30 ("no limit") for some tokenizers; keep our default then.
		if m >= 1 && m < math.MaxInt32 {
			opts.ModelMaxLength = int(m)
		}
	}
	setIf(&opts.CleanUpTokenizationSpaces, c.CleanUpTokenizationSpac)
	set := func(dst *string, src *tokenString) {
		if src != nil && *src != "" {
			*dst = string(*src)
		}
	}
	set(&opts.UnkToken, c.UnkToken)
	set(&opts.ClsToken, c.ClsToken)
	set(&opts.SepToken, c.SepToken)
	set(&opts.PadToken, c.PadToken)
	set(&opts.MaskToken, c.MaskToken)
	for _, t := range c.AdditionalSpecialTokens {
		if t != "" && !containsString(opts.SpecialTokens, string(t)) {
			opts.SpecialTokens = append(opts.SpecialTokens, string(t))
		}
	}
	for _, at := range c.AddedTokensDecoder {
		if at.Special && at.Content != "" && !containsString(opts.SpecialTokens, at.Content) {
			opts.SpecialTokens = append(opts.SpecialTokens, at.Content)
		}
	}
	return nil
}

// LoadTokenizer reads a tokenizer from a model folder: tokenizer_config.json, then
// special_tokens_map.json, whose tokens win as in transformers' from_pretrained (both
// optional), and vocab.txt, or tokenizer.json when there is no vocab.txt.
func LoadTokenizer(fsys fs.FS) (*Tokenizer, error) {
	opts := DefaultTokenizerOptions()
	for _, name := range []string{"tokenizer_config.json", "special_tokens_map.json"} {
		data, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load tokenizer: %w", err)
		}
		if err := ParseTokenizerConfig(data, &opts); err != nil {
			return nil, fmt.Errorf("load tokenizer: %s: %w", name, err)
		}
	}
	var vocab *Vocab
	f, err := fsys.Open("vocab.txt")
	switch {
	case err == nil:
		defer f.Close()
		vocab, err = ReadVocabTxt(f)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer: vocab.txt: %w", err)
		}
	case errors.Is(err, fs.ErrNotExist):
		tf, err := fsys.Open("tokenizer.json")
		if err != nil {
			return nil, fmt.Errorf("load tokenizer: no vocab.txt or tokenizer.json: %w", err)
		}
		defer tf.Close()
		vocab, err = ReadTokenizerJSON(tf, &opts)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer: %w", err)
		}
	default:
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	return NewTokenizer(vocab, opts)
}

// Resample is a Pillow resampling filter, numbered as PIL.Image.Resampling is
// (preprocessor_config.json stores the number).
type Resample int

const (
	ResampleNearest  Resample = 0
	ResampleLanczos  Resample = 1
	ResampleBilinear Resample = 2
	ResampleBicubic  Resample = 3
	ResampleBox      Resample = 4
	ResampleHamming  Resample = 5
)

func (r Resample) String() string {
	switch r {
	case ResampleNearest:
		return "nearest"
	case ResampleLanczos:
		return "lanczos"
	case ResampleBilinear:
		return "bilinear"
	case ResampleBicubic:
		return "bicubic"
	case ResampleBox:
		return "box"
	case ResampleHamming:
		return "hamming"
	}
	return fmt.Sprintf("Resample(%d)", int(r))
}

// ImageOptions holds every field of ViltImageProcessor's preprocessor_config.json.
// DefaultImageOptions gives ViltImageProcessor's defaults.
type ImageOptions struct {
	DoResize bool
	// ShortestEdge is size["shortest_edge"]; the longer edge is capped at
	// int(1333/800·ShortestEdge), a rule transformers hard-codes for ViLT.
	ShortestEdge  int
	SizeDivisor   int
	Resample      Resample
	DoRescale     bool
	RescaleFactor float64
	DoNormalize   bool
	// ImageMean and ImageStd have 3 entries (R, G, B) or 1 used for all channels.
	ImageMean []float64
	ImageStd  []float64
	DoPad     bool
}

// DefaultImageOptions returns ViltImageProcessor's defaults.
func DefaultImageOptions() ImageOptions {
	return ImageOptions{
		DoResize:      true,
		ShortestEdge:  384,
		SizeDivisor:   32,
		Resample:      ResampleBicubic,
		DoRescale:     true,
		RescaleFactor: 1.0 / 255,
		DoNormalize:   true,
		ImageMean:     []float64{0.5, 0.5, 0.5},
		ImageStd:      []float64{0.5, 0.5, 0.5},
		DoPad:         true,
	}
}

// Validate reports settings the processor cannot run with.
func (o *ImageOptions) Validate() error {
	if o.DoResize && o.ShortestEdge <= 0 {
		return fmt.Errorf("image options: shortest_edge must be > 0, got %d", o.ShortestEdge)
	}
	if o.DoResize && o.SizeDivisor < 0 {
		return fmt.Errorf("image options: size_divisor must be >= 0, got %d", o.SizeDivisor)
	}
	if o.Resample < ResampleNearest || o.Resample > ResampleHamming {
		return fmt.Errorf("image options: unknown resample filter %d (want 0..5)", int(o.Resample))
	}
	if o.DoNormalize {
		for _, l := range [][]float64{o.ImageMean, o.ImageStd} {
			if len(l) != 1 && len(l) != 3 {
				return fmt.Errorf("image options: image_mean/image_std need 1 or 3 values, got %d", len(l))
			}
		}
		for _, s := range o.ImageStd {
			if s == 0 {
				return fmt.Errorf("image options: image_std has a zero")
			}
		}
	}
	return nil
}

// floatList accepts a number or a list of numbers (transformers allows both for image_mean/std).
type floatList []float64

func (f *floatList) UnmarshalJSON(b []byte) error {
	var x float64
	if err := json.Unmarshal(b, &x); err == nil {
		*f = floatList{x}
		return nil
	}
	var l []float64
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("want a number or a list of numbers, got %s", b)
	}
	*f = l
	return nil
}

// sizeField accepts size as an int or {"shortest_edge": N}.
type sizeField struct{ shortestEdge int }

func (s *sizeField) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		s.shortestEdge = n
		return nil
	}
	var m map[string]*int
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("size: want an int or an object, got %s", b)
	}
	v, ok := m["shortest_edge"]
	if !ok || v == nil {
		return fmt.Errorf("size: ViLT needs the key shortest_edge, got %s", b)
	}
	s.shortestEdge = *v
	return nil
}

type imageConfigJSON struct {
	DoResize      *bool      `json:"do_resize"`
	Size          *sizeField `json:"size"`
	SizeDivisor   *int       `json:"size_divisor"`
	Resample      *int       `json:"resample"`
	DoRescale     *bool      `json:"do_rescale"`
	RescaleFactor *float64   `json:"rescale_factor"`
	DoNormalize   *bool      `json:"do_normalize"`
	ImageMean     *floatList `json:"image_mean"`
	ImageStd      *floatList `json:"image_std"`
	DoPad         *bool      `json:"do_pad"`
}

// ParseImageConfig applies the fields of a preprocessor_config.json to opts;
// absent fields keep their current values.
func ParseImageConfig(data []byte, opts *ImageOptions) error {
	var c imageConfigJSON
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("parse preprocessor config: %w", err)
	}
	setIf(&opts.DoResize, c.DoResize)
	if c.Size != nil {
		opts.ShortestEdge = c.Size.shortestEdge
	}
	setIf(&opts.SizeDivisor, c.SizeDivisor)
	if c.Resample != nil {
		opts.Resample = Resample(*c.Resample)
	}
	setIf(&opts.DoRescale, c.DoRescale)
	setIf(&opts.RescaleFactor, c.RescaleFactor)
	setIf(&opts.DoNormalize, c.DoNormalize)
	if c.ImageMean != nil {
		opts.ImageMean = *c.ImageMean
	}
	if c.ImageStd != nil {
		opts.ImageStd = *c.ImageStd
	}
	setIf(&opts.DoPad, c.DoPad)
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("preprocessor config: %w", err)
	}
	return nil
}

// LoadImageOptions reads preprocessor_config.json-style settings from fsys;
// a missing file gives the defaults.
func LoadImageOptions(fsys fs.FS, name string) (ImageOptions, error) {
	opts := DefaultImageOptions()
	data, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return opts, nil
	}
	if err != nil {
		return opts, fmt.Errorf("load image options: %w", err)
	}
	if err := ParseImageConfig(data, &opts); err != nil {
		return opts, fmt.Errorf("%s: %w", name, err)
	}
	return opts, nil
}
