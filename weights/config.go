package weights

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"strings"
)

// PreprocessorConfig is preprocessor_config.json of ViltImageProcessor (or the older
// ViltFeatureExtractor). Absent fields take ViltImageProcessor's defaults.
type PreprocessorConfig struct {
	DoResize bool `json:"do_resize"`
	// Size is the resize target. A bare integer in the file (old configs: "size": 384)
	// means {"shortest_edge": n}, as transformers' get_size_dict reads it.
	Size          ImageSize `json:"size"`
	SizeDivisor   int       `json:"size_divisor"`
	Resample      int       `json:"resample"` // PIL filter id: 3 = BICUBIC
	DoRescale     bool      `json:"do_rescale"`
	RescaleFactor float64   `json:"rescale_factor"`
	DoNormalize   bool      `json:"do_normalize"`
	ImageMean     Floats    `json:"image_mean"`
	ImageStd      Floats    `json:"image_std"`
	DoPad         bool      `json:"do_pad"`

	ImageProcessorType   string `json:"image_processor_type,omitempty"`
	FeatureExtractorType string `json:"feature_extractor_type,omitempty"`
	ProcessorClass       string `json:"processor_class,omitempty"`
}

// ImageSize is a size dict. ViLT uses ShortestEdge (the longer side is capped at
// int(1333/800·ShortestEdge)); the other keys are kept for completeness.
type ImageSize struct {
	ShortestEdge int `json:"shortest_edge,omitempty"`
	LongestEdge  int `json:"longest_edge,omitempty"`
	Height       int `json:"height,omitempty"`
	Width        int `json:"width,omitempty"`
}

// UnmarshalJSON accepts an integer (shortest edge) or a size dict.
func (s *ImageSize) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*s = ImageSize{ShortestEdge: n}
		return nil
	}
	type plain ImageSize
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("size: want an integer or {\"shortest_edge\": n}: %w", err)
	}
	*s = ImageSize(p)
	return nil
}

// Floats is a per-channel list; a single number in the file applies to every channel.
type Floats []float64

// UnmarshalJSON accepts a number or a list of numbers.
func (f *Floats) UnmarshalJSON(b []byte) error {
	var x float64
	if err := json.Unmarshal(b, &x); err == nil {
		*f = Floats{x, x, x}
		return nil
	}
	var l []float64
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*f = l
	return nil
}

// DefaultPreprocessorConfig is ViltImageProcessor() with no arguments.
func DefaultPreprocessorConfig() PreprocessorConfig {
	return PreprocessorConfig{
		DoResize: true, Size: ImageSize{ShortestEdge: 384}, SizeDivisor: 32, Resample: 3,
		DoRescale: true, RescaleFactor: 1.0 / 255, DoNormalize: true,
		ImageMean: Floats{0.5, 0.5, 0.5}, ImageStd: Floats{0.5, 0.5, 0.5}, DoPad: true,
		ImageProcessorType: "ViltImageProcessor",
	}
}

// UnmarshalJSON applies the defaults to absent fields.
func (c *PreprocessorConfig) UnmarshalJSON(b []byte) error {
	type plain PreprocessorConfig
	d := plain(DefaultPreprocessorConfig())
	d.ImageProcessorType = ""
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	*c = PreprocessorConfig(d)
	return nil
}

// Validate checks the values the processor relies on.
func (c *PreprocessorConfig) Validate() error {
	var errs []error
	if c.DoResize && c.Size.ShortestEdge <= 0 {
		errs = append(errs, fmt.Errorf("size: need a positive shortest_edge, got %+v", c.Size))
	}
	if c.SizeDivisor < 0 {
		errs = append(errs, fmt.Errorf("size_divisor %d is negative", c.SizeDivisor))
	}
	if c.DoNormalize {
		if len(c.ImageMean) != 3 || len(c.ImageStd) != 3 {
			errs = append(errs, fmt.Errorf("image_mean/image_std need 3 values, got %d and %d", len(c.ImageMean), len(c.ImageStd)))
		}
		for _, s := range c.ImageStd {
			if s == 0 {
				errs = append(errs, errors.New("image_std has a zero"))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// LoadPreprocessorConfig reads dir/preprocessor_config.json from fsys; a missing file
// gives the defaults.
func LoadPreprocessorConfig(fsys fs.FS, dir string) (*PreprocessorConfig, error) {
	c := DefaultPreprocessorConfig()
	b, err := fs.ReadFile(fsys, path.Join(dir, "preprocessor_config.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("preprocessor_config.json: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("preprocessor_config.json: %w", err)
	}
	return &c, nil
}

// Token is a special token: a plain string in the file, or an AddedToken object
// ({"content": "[CLS]", "lstrip": false, ...}).
type Token string

// UnmarshalJSON accepts a string or an object with "content".
func (t *Token) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = Token(s)
		return nil
	}
	var o struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("special token: want a string or {\"content\": ...}: %w", err)
	}
	*t = Token(o.Content)
	return nil
}

// TokenizerConfig is tokenizer_config.json of BertTokenizer, merged with
// special_tokens_map.json (which wins, as in transformers).
type TokenizerConfig struct {
	TokenizerClass       string `json:"tokenizer_class,omitempty"`
	DoLowerCase          bool   `json:"do_lower_case"`
	DoBasicTokenize      bool   `json:"do_basic_tokenize"`
	TokenizeChineseChars bool   `json:"tokenize_chinese_chars"`
	// StripAccents nil means "strip when lowercasing" (Python None).
	StripAccents *bool    `json:"strip_accents"`
	NeverSplit   []string `json:"never_split"`
	// ModelMaxLength is the longest input; math.MaxInt when unset (transformers'
	// VERY_LARGE_INTEGER, 1e30, which does not fit an int).
	ModelMaxLength            int  `json:"-"`
	CleanUpTokenizationSpaces bool `json:"clean_up_tokenization_spaces"`

	UnkToken  Token `json:"unk_token"`
	SepToken  Token `json:"sep_token"`
	PadToken  Token `json:"pad_token"`
	ClsToken  Token `json:"cls_token"`
	MaskToken Token `json:"mask_token"`
}

// DefaultTokenizerConfig is BertTokenizer's defaults.
func DefaultTokenizerConfig() TokenizerConfig {
	return TokenizerConfig{
		DoLowerCase: true, DoBasicTokenize: true, TokenizeChineseChars: true,
		ModelMaxLength: math.MaxInt, CleanUpTokenizationSpaces: true,
		UnkToken: "[UNK]", SepToken: "[SEP]", PadToken: "[PAD]", ClsToken: "[CLS]", MaskToken: "[MASK]",
	}
}

// UnmarshalJSON applies defaults and reads model_max_length, clamping huge values.
func (c *TokenizerConfig) UnmarshalJSON(b []byte) error {
	type plain TokenizerConfig
	aux := struct {
		*plain
		ModelMaxLength *json.Number `json:"model_max_length"`
	}{plain: (*plain)(c)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	if aux.ModelMaxLength != nil {
		f, err := aux.ModelMaxLength.Float64()
		switch {
		case err != nil:
			return fmt.Errorf("model_max_length: %w", err)
		case f >= math.MaxInt64 || f < 0:
			c.ModelMaxLength = math.MaxInt
		default:
			c.ModelMaxLength = int(f)
		}
	}
	return nil
}

// SpecialTokens lists the special tokens that are set, in [PAD] [UNK] [CLS] [SEP]
// [MASK] order.
func (c *TokenizerConfig) SpecialTokens() []string {
	var out []string
	for _, t := range []Token{c.PadToken, c.UnkToken, c.ClsToken, c.SepToken, c.MaskToken} {
		if t != "" {
			out = append(out, string(t))
		}
	}
	return out
}

// LoadTokenizerConfig reads dir/tokenizer_config.json and dir/special_tokens_map.json
// (each optional) from fsys.
func LoadTokenizerConfig(fsys fs.FS, dir string) (*TokenizerConfig, error) {
	c := DefaultTokenizerConfig()
	for _, name := range []string{"tokenizer_config.json", "special_tokens_map.json"} {
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return &c, nil
}

// LoadVocab returns the WordPiece vocabulary in id order (tokens[id]), from
// dir/vocab.txt (one token per line, id = line number) or else dir/tokenizer.json
// (model.vocab plus added_tokens).
func LoadVocab(fsys fs.FS, dir string) ([]string, error) {
	b, err := fs.ReadFile(fsys, path.Join(dir, "vocab.txt"))
	if err == nil {
		return ParseVocabTxt(b)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	b, err = fs.ReadFile(fsys, path.Join(dir, "tokenizer.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("vocabulary: %w: neither vocab.txt nor tokenizer.json in %s", ErrNotFound, dir)
	}
	if err != nil {
		return nil, err
	}
	return ParseTokenizerJSONVocab(b)
}

// ParseVocabTxt splits vocab.txt into tokens. Lines end at \n, \r\n or \r (Python's
// universal newlines); a UTF-8 BOM is dropped.
func ParseVocabTxt(b []byte) ([]string, error) {
	b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	var toks []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		for i, c := range data {
			switch c {
			case '\n':
				return i + 1, data[:i], nil
			case '\r':
				if i+1 < len(data) {
					if data[i+1] == '\n' {
						return i + 2, data[:i], nil
					}
					return i + 1, data[:i], nil
				}
				if atEOF {
					return i + 1, data[:i], nil
				}
				return 0, nil, nil // need one more byte to see \r\n
			}
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		toks = append(toks, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vocab.txt: %w", err)
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("vocab.txt: %w: empty vocabulary", ErrFormat)
	}
	return toks, nil
}

// ParseTokenizerJSONVocab reads the vocabulary of a tokenizers tokenizer.json.
func ParseTokenizerJSONVocab(b []byte) ([]string, error) {
	var tj struct {
		Model struct {
			Type  string         `json:"type"`
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(b, &tj); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w: %v", ErrFormat, err)
	}
	if tj.Model.Type != "" && tj.Model.Type != "WordPiece" {
		return nil, fmt.Errorf("tokenizer.json: %w: model type %q, want WordPiece", ErrFormat, tj.Model.Type)
	}
	ids := map[int]string{}
	maxID := -1
	set := func(tok string, id int) error {
		if id < 0 || id > 1<<24 {
			return fmt.Errorf("tokenizer.json: %w: token %q has id %d", ErrFormat, tok, id)
		}
		if old, ok := ids[id]; ok && old != tok {
			return fmt.Errorf("tokenizer.json: %w: id %d is both %q and %q", ErrFormat, id, old, tok)
		}
		ids[id] = tok
		maxID = max(maxID, id)
		return nil
	}
	for tok, id := range tj.Model.Vocab {
		if err := set(tok, id); err != nil {
			return nil, err
		}
	}
	for _, a := range tj.AddedTokens {
		if err := set(a.Content, a.ID); err != nil {
			return nil, err
		}
	}
	if maxID < 0 {
		return nil, fmt.Errorf("tokenizer.json: %w: empty vocabulary", ErrFormat)
	}
	toks := make([]string, maxID+1)
	var gaps []string
	for i := range toks {
		t, ok := ids[i]
		if !ok {
			gaps = append(gaps, fmt.Sprint(i))
			if len(gaps) > 5 {
				break
			}
		}
		toks[i] = t
	}
	if len(gaps) > 0 {
		return nil, fmt.Errorf("tokenizer.json: %w: no token for ids %s", ErrFormat, strings.Join(gaps, ", "))
	}
	return toks, nil
}
