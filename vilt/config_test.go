package vilt

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vilt-vk/vilt-vk/weights"
)

func goldenDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join("..", "..", "shared", "golden")
	if _, err := os.Stat(filepath.Join(d, "models")); err != nil {
		t.Skipf("golden data not found at %s", d)
	}
	return d
}

func TestDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("got %+v\nwant %+v", *c, want)
	}
	if c.VocabSize != 30522 || c.TypeVocabSize != 2 || c.ModalityTypeVocabSize != 2 || c.MaxPositionEmbeddings != 40 ||
		c.HiddenSize != 768 || c.NumHiddenLayers != 12 || c.NumAttentionHeads != 12 || c.IntermediateSize != 3072 ||
		c.HiddenAct != "gelu" || c.LayerNormEps != 1e-12 || c.ImageSize != 384 || c.PatchSize != 32 ||
		c.NumChannels != 3 || !c.QKVBias || c.MaxImageLength != -1 || c.TieWordEmbeddings || c.NumImages != -1 {
		t.Errorf("defaults differ from ViltConfig(): %+v", c)
	}
	if c.NumLabels() != 2 || c.ID2Label[1] != "LABEL_1" || c.Label2ID["LABEL_0"] != 0 || c.Architecture() != "ViltModel" {
		t.Errorf("labels/architecture: %v %v %q", c.ID2Label, c.Label2ID, c.Architecture())
	}
	if c.HeadDim() != 64 || c.NumPatches() != 12 {
		t.Errorf("HeadDim %d NumPatches %d", c.HeadDim(), c.NumPatches())
	}
}

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name, json string
		check      func(c *Config) bool
		errHas     []string
	}{
		{"num_labels", `{"num_labels": 3}`, func(c *Config) bool { return c.NumLabels() == 3 && c.ID2Label[2] == "LABEL_2" }, nil},
		{"id2label", `{"id2label": {"1": "no", "0": "yes"}}`, func(c *Config) bool {
			return c.ID2Label[0] == "yes" && c.Label2ID["no"] == 1
		}, nil},
		{"max_image_length not int", `{"max_image_length": "x"}`, func(c *Config) bool { return c.MaxImageLength == -1 }, nil},
		{"max_image_length 200", `{"max_image_length": 200}`, func(c *Config) bool { return c.MaxImageLength == 200 }, nil},
		{"not json", `{"hidden_size": `, nil, []string{"config.json"}},
		{"id2label bad key", `{"id2label": {"a": "x"}}`, nil, []string{`"a"`}},
		{"id2label gap", `{"id2label": {"0": "a", "2": "b"}}`, nil, []string{"no key 1"}},
		{"every problem at once", `{"hidden_size": 100, "num_attention_heads": 12, "layer_norm_eps": 0, "patch_size": 0}`, nil,
			[]string{"multiple of num_attention_heads", "layer_norm_eps", "patch_size must be positive"}},
		{"nlvr2 modality", `{"architectures": ["ViltForImagesAndTextClassification"], "num_images": 2}`, nil, []string{"modality_type_vocab_size >= 3"}},
		{"unknown arch", `{"architectures": ["BertModel"]}`, nil, []string{"unknown architecture"}},
	}
	for _, c := range cases {
		cfg, err := ParseConfig([]byte(c.json))
		if c.errHas != nil {
			if err == nil {
				t.Errorf("%s: want an error", c.name)
				continue
			}
			for _, s := range c.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s: error %q lacks %q", c.name, err, s)
				}
			}
			continue
		}
		if err != nil || !c.check(cfg) {
			t.Errorf("%s: %+v, %v", c.name, cfg, err)
		}
	}
}

// Marshal then parse gives the same config (id2label keys become strings and back).
func TestConfigRoundTrip(t *testing.T) {
	c := DefaultConfig()
	c.Architectures = []string{"ViltForQuestionAnswering"}
	c.ID2Label, c.Label2ID = map[int]string{0: "yes", 1: "no"}, map[string]int{"yes": 0, "no": 1}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"id2label":{"0":"yes","1":"no"}`) {
		t.Errorf("id2label not written with string keys: %s", b)
	}
	got, err := ParseConfig(b)
	if err != nil || !reflect.DeepEqual(*got, c) {
		t.Errorf("round trip: %+v, %v", got, err)
	}
}

// Every tiny golden model's config parses, and its weights map strictly onto it.
func TestGoldenConfigsAndMapping(t *testing.T) {
	models := filepath.Join(goldenDir(t), "models")
	want := map[string]struct {
		head   weights.Head
		labels int
	}{
		"tiny-vilt-p32-model": {weights.HeadNone, 2}, "tiny-vilt-p16-model": {weights.HeadNone, 2},
		"tiny-vilt-p32-mlm": {weights.HeadMLM, 2}, "tiny-vilt-p32-vqa": {weights.HeadVQA, 7},
		"tiny-vilt-p32-nlvr2": {weights.HeadNLVR2, 2}, "tiny-vilt-p32-retrieval": {weights.HeadRetrieval, 2},
		"tiny-vilt-p32-tokcls": {weights.HeadTokenClassification, 5},
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(models, name)
			cfg, err := LoadConfig(os.DirFS(dir), ".")
			if err != nil {
				t.Fatal(err)
			}
			spec := cfg.Spec()
			if spec.Head != w.head || cfg.NumLabels() != w.labels || cfg.HiddenSize != 32 || cfg.NumAttentionHeads != 4 {
				t.Errorf("head %s labels %d hidden %d", spec.Head, cfg.NumLabels(), cfg.HiddenSize)
			}
			ckpt, err := weights.OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			m, err := weights.MapViLT(ckpt, spec)
			if err != nil {
				ckpt.Close()
				t.Fatal(err)
			}
			defer m.Close()
			for _, n := range m.Names() {
				if strings.HasPrefix(n, "vilt.") {
					t.Errorf("canonical name %s keeps the prefix", n)
				}
				tt, err := m.Tensor(n)
				if err != nil || tt.Name != n {
					t.Errorf("%s: %v", n, err)
				}
			}
		})
	}
	vqa, _ := LoadConfig(os.DirFS(filepath.Join(models, "tiny-vilt-p32-vqa")), ".")
	if vqa != nil && (vqa.ID2Label[5] != "cat" || vqa.Label2ID["couch"] != 6) {
		t.Errorf("vqa labels %v", vqa.ID2Label)
	}
}

// Strict mapping: one error lists every difference.
func TestMappingReportsEveryDifference(t *testing.T) {
	models := filepath.Join(goldenDir(t), "models")
	cfg, err := LoadConfigFile(filepath.Join(models, "tiny-vilt-p32-vqa", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.NumHiddenLayers = 3   // layer 2 missing
	cfg.IntermediateSize = 40 // every intermediate/output dense mismatched
	cfg.ID2Label[7] = "extra" // classifier.3 mismatched
	ckpt, err := weights.OpenDir(filepath.Join(models, "tiny-vilt-p32-vqa"))
	if err != nil {
		t.Fatal(err)
	}
	defer ckpt.Close()
	_, err = weights.MapViLT(ckpt, cfg.Spec())
	var me *weights.MapError
	if !errors.As(err, &me) {
		t.Fatalf("want a *MapError, got %v", err)
	}
	if len(me.Missing) != 16 || len(me.Mismatched) != 2*3+2 || len(me.Unexpected) != 0 {
		t.Errorf("missing %d, mismatched %d, unexpected %d:\n%v", len(me.Missing), len(me.Mismatched), len(me.Unexpected), err)
	}
	// A VQA checkpoint read as ViltModel: the classifier keys are unexpected.
	base := *cfg
	base.NumHiddenLayers, base.IntermediateSize, base.Architectures = 2, 37, []string{"ViltModel"}
	_, err = weights.MapViLT(ckpt, base.Spec())
	if !errors.As(err, &me) || len(me.Unexpected) != 6 || len(me.Missing) != 0 {
		t.Errorf("ViltModel from a VQA checkpoint: %v", err)
	}
}

// full/config.json is ViltConfig(num_labels=3129): 117,588,537 parameters.
func TestFullConfig(t *testing.T) {
	cfg, err := LoadConfigFile(filepath.Join(goldenDir(t), "full", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Spec()
	if s.Head != weights.HeadNone || cfg.NumLabels() != 3129 {
		// full/config.json has no architectures: it is used as VQA.
		t.Logf("head %s, %d labels", s.Head, cfg.NumLabels())
	}
	s.Head = weights.HeadVQA
	if n := s.NumParams(); n != 117588537 {
		t.Errorf("NumParams = %d, want 117588537", n)
	}
	m, err := weights.MapViLT(weights.NewSynthetic(s), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Names()) != 212 {
		t.Errorf("%d tensors", len(m.Names()))
	}
}
