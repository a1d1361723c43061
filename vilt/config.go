package vilt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"

	"github.com/vilt-vk/vilt-vk/weights"
)

// Config is transformers' ViltConfig as written in a model's config.json. Field names
// follow the JSON; fields absent from the file take transformers' defaults (see
// DefaultConfig), so a sparse config.json reads exactly as Python reads it.
type Config struct {
	VocabSize                 int     `json:"vocab_size"`
	TypeVocabSize             int     `json:"type_vocab_size"`
	ModalityTypeVocabSize     int     `json:"modality_type_vocab_size"`
	MaxPositionEmbeddings     int     `json:"max_position_embeddings"`
	HiddenSize                int     `json:"hidden_size"`
	NumHiddenLayers           int     `json:"num_hidden_layers"`
	NumAttentionHeads         int     `json:"num_attention_heads"`
	IntermediateSize          int     `json:"intermediate_size"`
	HiddenAct                 string  `json:"hidden_act"`
	HiddenDropoutProb         float64 `json:"hidden_dropout_prob"`
	AttentionProbsDropoutProb float64 `json:"attention_probs_dropout_prob"`
	InitializerRange          float64 `json:"initializer_range"`
	LayerNormEps              float64 `json:"layer_norm_eps"`
	ImageSize                 int     `json:"image_size"`
	PatchSize                 int     `json:"patch_size"`
	NumChannels               int     `json:"num_channels"`
	QKVBias                   bool    `json:"qkv_bias"`
	// MaxImageLength caps the image tokens per sample; -1 (default) means all valid
	// patches. A non-integer value in the file reads as -1, as HF treats it.
	MaxImageLength    int  `json:"max_image_length"`
	TieWordEmbeddings bool `json:"tie_word_embeddings"`
	// NumImages is the images per example of ViltForImagesAndTextClassification (NLVR2: 2).
	NumImages int `json:"num_images"`

	// From PretrainedConfig.
	Architectures       []string       `json:"architectures,omitempty"`
	ID2Label            map[int]string `json:"id2label"` // string keys ("0") in JSON
	Label2ID            map[string]int `json:"label2id"`
	ModelType           string         `json:"model_type"`
	TorchDtype          string         `json:"torch_dtype,omitempty"`
	TransformersVersion string         `json:"transformers_version,omitempty"`

	// Note is our own "vilt_vk_note": the demo model says there that its weights are random.
	Note string `json:"vilt_vk_note,omitempty"`
}

// DefaultConfig is ViltConfig() with no arguments (ViLT-B/32), with PretrainedConfig's
// two default labels.
func DefaultConfig() Config {
	c := Config{
		VocabSize: 30522, TypeVocabSize: 2, ModalityTypeVocabSize: 2, MaxPositionEmbeddings: 40,
		HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12, IntermediateSize: 3072,
		HiddenAct: "gelu", HiddenDropoutProb: 0, AttentionProbsDropoutProb: 0,
		InitializerRange: 0.02, LayerNormEps: 1e-12, ImageSize: 384, PatchSize: 32,
		NumChannels: 3, QKVBias: true, MaxImageLength: -1, TieWordEmbeddings: false,
		NumImages: -1, ModelType: "vilt",
	}
	c.ID2Label, c.Label2ID = defaultLabels(2)
	return c
}

func defaultLabels(n int) (map[int]string, map[string]int) {
	id2 := make(map[int]string, n)
	l2 := make(map[string]int, n)
	for i := range n {
		id2[i] = "LABEL_" + strconv.Itoa(i)
		l2[id2[i]] = i
	}
	return id2, l2
}

// UnmarshalJSON fills absent fields with the defaults. When id2label is absent it is
// built from num_labels (default 2) as LABEL_i; an absent label2id is its inverse.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	aux := struct {
		*plain
		MaxImageLength json.RawMessage   `json:"max_image_length"`
		NumLabels      *int              `json:"num_labels"`
		ID2Label       map[string]string `json:"id2label"`
	}{}
	d := DefaultConfig()
	d.ID2Label, d.Label2ID = nil, nil
	aux.plain = (*plain)(&d)
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	if len(aux.MaxImageLength) > 0 {
		var n int
		if err := json.Unmarshal(aux.MaxImageLength, &n); err == nil {
			d.MaxImageLength = n
		} else {
			d.MaxImageLength = -1
		}
	}
	if aux.ID2Label != nil {
		d.ID2Label = make(map[int]string, len(aux.ID2Label))
		for k, v := range aux.ID2Label {
			i, err := strconv.Atoi(k)
			if err != nil {
				return fmt.Errorf("id2label key %q is not an integer", k)
			}
			d.ID2Label[i] = v
		}
	} else {
		n := 2
		if aux.NumLabels != nil {
			n = *aux.NumLabels
		}
		if n < 0 || n > 1<<20 {
			return fmt.Errorf("num_labels %d out of range", n)
		}
		d.ID2Label, _ = defaultLabels(n)
	}
	if d.Label2ID == nil {
		d.Label2ID = make(map[string]int, len(d.ID2Label))
		for i, l := range d.ID2Label {
			d.Label2ID[l] = i
		}
	}
	*c = d
	return nil
}

// ParseConfig decodes a config.json and validates it.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	return &c, nil
}

// LoadConfig reads and validates dir/config.json (dir may be "." in fsys).
func LoadConfig(fsys fs.FS, dir string) (*Config, error) {
	name := "config.json"
	if dir != "" && dir != "." {
		name = dir + "/config.json"
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	return ParseConfig(b)
}

// LoadConfigFile reads and validates a config.json file.
func LoadConfigFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// NumLabels is the number of classifier outputs (len(id2label)).
func (c *Config) NumLabels() int { return len(c.ID2Label) }

// HeadDim is the per-head width, hidden_size / num_attention_heads.
func (c *Config) HeadDim() int { return c.HiddenSize / c.NumAttentionHeads }

// NumPatches is the patches per side of the configured image size (the side of the
// position-embedding grid): image_size / patch_size, floored as the Conv2d does.
func (c *Config) NumPatches() int { return c.ImageSize / c.PatchSize }

// Architecture is the first entry of architectures ("ViltModel" when absent).
func (c *Config) Architecture() string {
	if len(c.Architectures) == 0 {
		return string(weights.HeadNone)
	}
	return c.Architectures[0]
}

// Validate reports every inconsistency of the config in one error.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	pos := map[string]int{
		"vocab_size": c.VocabSize, "type_vocab_size": c.TypeVocabSize,
		"modality_type_vocab_size": c.ModalityTypeVocabSize, "max_position_embeddings": c.MaxPositionEmbeddings,
		"hidden_size": c.HiddenSize, "num_hidden_layers": c.NumHiddenLayers,
		"num_attention_heads": c.NumAttentionHeads, "intermediate_size": c.IntermediateSize,
		"image_size": c.ImageSize, "patch_size": c.PatchSize, "num_channels": c.NumChannels,
	}
	keys := make([]string, 0, len(pos))
	for k := range pos {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if pos[k] <= 0 {
			bad("%s must be positive, got %d", k, pos[k])
		}
	}
	if c.NumAttentionHeads > 0 && c.HiddenSize%c.NumAttentionHeads != 0 {
		bad("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.PatchSize > 0 && c.ImageSize > 0 && c.ImageSize < c.PatchSize {
		bad("image_size %d is smaller than patch_size %d", c.ImageSize, c.PatchSize)
	}
	if !(c.LayerNormEps > 0) {
		bad("layer_norm_eps must be positive, got %g", c.LayerNormEps)
	}
	if c.HiddenAct == "" {
		bad("hidden_act is empty")
	}
	if c.MaxImageLength == 0 || c.MaxImageLength < -1 {
		bad("max_image_length must be -1 or positive, got %d", c.MaxImageLength)
	}
	if c.NumImages == 0 || c.NumImages < -1 {
		bad("num_images must be -1 or positive, got %d", c.NumImages)
	}
	for i := range len(c.ID2Label) {
		if _, ok := c.ID2Label[i]; !ok {
			bad("id2label has %d entries but no key %d (keys must be 0..n-1)", len(c.ID2Label), i)
			break
		}
	}
	switch weights.Head(c.Architecture()) {
	case weights.HeadNone, weights.HeadMLM, weights.HeadVQA, weights.HeadRetrieval, weights.HeadTokenClassification:
	case weights.HeadNLVR2:
		if c.NumImages < 1 {
			bad("%s needs num_images >= 1, got %d", c.Architecture(), c.NumImages)
		} else if c.ModalityTypeVocabSize < c.NumImages+1 {
			bad("%s with num_images %d needs modality_type_vocab_size >= %d, got %d", c.Architecture(), c.NumImages, c.NumImages+1, c.ModalityTypeVocabSize)
		}
	default:
		bad("unknown architecture %q", c.Architecture())
	}
	if c.VocabSize > 0 && c.MaxPositionEmbeddings > 0 && c.NumLabels() == 0 {
		switch weights.Head(c.Architecture()) {
		case weights.HeadVQA, weights.HeadNLVR2, weights.HeadTokenClassification:
			bad("%s needs at least one label", c.Architecture())
		}
	}
	return errors.Join(errs...)
}

// Spec is the shape information the weight mapping and the synthetic weights need.
func (c *Config) Spec() weights.Spec {
	return weights.Spec{
		Head:                  weights.Head(c.Architecture()),
		VocabSize:             c.VocabSize,
		TypeVocabSize:         c.TypeVocabSize,
		ModalityTypeVocabSize: c.ModalityTypeVocabSize,
		MaxPositionEmbeddings: c.MaxPositionEmbeddings,
		HiddenSize:            c.HiddenSize,
		NumHiddenLayers:       c.NumHiddenLayers,
		IntermediateSize:      c.IntermediateSize,
		ImageSize:             c.ImageSize,
		PatchSize:             c.PatchSize,
		NumChannels:           c.NumChannels,
		QKVBias:               c.QKVBias,
		NumLabels:             c.NumLabels(),
		NumImages:             c.NumImages,
	}
}
