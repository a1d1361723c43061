package weights

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"
)

func TestPreprocessorConfig(t *testing.T) {
	cases := []struct {
		name, json string
		want       func(c *PreprocessorConfig)
		bad        bool
	}{
		{"empty", `{}`, func(c *PreprocessorConfig) {}, false},
		{"dandelin int size", `{"do_normalize": true, "do_resize": true, "feature_extractor_type": "ViltFeatureExtractor", "image_mean": [0.5,0.5,0.5], "image_std": [0.5,0.5,0.5], "resample": 3, "size": 384, "size_divisor": 32}`,
			func(c *PreprocessorConfig) { c.FeatureExtractorType = "ViltFeatureExtractor" }, false},
		{"dict size", `{"size": {"shortest_edge": 96}, "do_pad": false, "image_mean": 0.25}`,
			func(c *PreprocessorConfig) {
				c.Size.ShortestEdge, c.DoPad, c.ImageMean = 96, false, Floats{0.25, 0.25, 0.25}
			}, false},
		{"not json", `{"size": `, nil, true},
		{"bad size", `{"size": "big"}`, nil, true},
		{"zero std", `{"image_std": [1, 0, 1]}`, nil, true},
	}
	for _, c := range cases {
		fsys := fstest.MapFS{"m/preprocessor_config.json": {Data: []byte(c.json)}}
		got, err := LoadPreprocessorConfig(fsys, "m")
		if c.bad {
			if err == nil {
				t.Errorf("%s: want an error", c.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		want := DefaultPreprocessorConfig()
		want.ImageProcessorType = ""
		c.want(&want)
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, *got, want)
		}
	}
	// Absent file: defaults.
	got, err := LoadPreprocessorConfig(fstest.MapFS{}, ".")
	if err != nil || got.Size.ShortestEdge != 384 || got.RescaleFactor != 1.0/255 {
		t.Errorf("defaults: %+v, %v", got, err)
	}
}

func TestGoldenSideFiles(t *testing.T) {
	dir := filepath.Join(goldenDir(t), "models", "tiny-vilt-p32-vqa")
	fsys := os.DirFS(dir)
	pc, err := LoadPreprocessorConfig(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultPreprocessorConfig()
	if pc.Size != want.Size || pc.SizeDivisor != 32 || pc.Resample != 3 || !pc.DoPad || pc.RescaleFactor != want.RescaleFactor {
		t.Errorf("preprocessor config %+v", pc)
	}
	tc, err := LoadTokenizerConfig(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	if !tc.DoLowerCase || tc.ModelMaxLength != 40 || tc.StripAccents != nil || !tc.TokenizeChineseChars ||
		tc.ClsToken != "[CLS]" || tc.MaskToken != "[MASK]" || tc.TokenizerClass != "BertTokenizer" {
		t.Errorf("tokenizer config %+v", tc)
	}
	vocab, err := LoadVocab(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(vocab) != 30522 || vocab[0] != "[PAD]" || vocab[100] != "[UNK]" || vocab[101] != "[CLS]" || vocab[103] != "[MASK]" {
		t.Errorf("vocab: %d tokens, %q %q %q", len(vocab), vocab[0], vocab[100], vocab[101])
	}
}

func TestTokenizerConfig(t *testing.T) {
	fsys := fstest.MapFS{
		"tokenizer_config.json":   {Data: []byte(`{"do_lower_case": false, "model_max_length": 1000000000000000019884624838656, "strip_accents": false, "cls_token": {"content": "<s>", "__type": "AddedToken"}}`)},
		"special_tokens_map.json": {Data: []byte(`{"mask_token": "<mask>"}`)},
	}
	c, err := LoadTokenizerConfig(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	if c.DoLowerCase || c.ModelMaxLength != math.MaxInt || c.StripAccents == nil || *c.StripAccents ||
		c.ClsToken != "<s>" || c.MaskToken != "<mask>" || c.SepToken != "[SEP]" {
		t.Errorf("%+v", c)
	}
	if _, err := LoadTokenizerConfig(fstest.MapFS{"tokenizer_config.json": {Data: []byte(`[`)}}, "."); err == nil {
		t.Error("want an error for bad JSON")
	}
}

func TestVocab(t *testing.T) {
	cases := []struct {
		name string
		fs   fstest.MapFS
		want []string
		bad  bool
	}{
		{"txt lf", fstest.MapFS{"vocab.txt": {Data: []byte("[PAD]\na\nb\n")}}, []string{"[PAD]", "a", "b"}, false},
		{"txt crlf cr bom", fstest.MapFS{"vocab.txt": {Data: []byte("\xef\xbb\xbf[PAD]\r\na\rb")}}, []string{"[PAD]", "a", "b"}, false},
		{"txt blank line", fstest.MapFS{"vocab.txt": {Data: []byte("a\n\nb\n")}}, []string{"a", "", "b"}, false},
		{"json", fstest.MapFS{"tokenizer.json": {Data: []byte(`{"model": {"type": "WordPiece", "vocab": {"b": 2, "[PAD]": 0, "a": 1}}, "added_tokens": [{"id": 3, "content": "[X]"}]}`)}}, []string{"[PAD]", "a", "b", "[X]"}, false},
		{"json gap", fstest.MapFS{"tokenizer.json": {Data: []byte(`{"model": {"vocab": {"a": 0, "c": 2}}}`)}}, nil, true},
		{"json bpe", fstest.MapFS{"tokenizer.json": {Data: []byte(`{"model": {"type": "BPE", "vocab": {"a": 0}}}`)}}, nil, true},
		{"none", fstest.MapFS{}, nil, true},
		{"empty", fstest.MapFS{"vocab.txt": {Data: nil}}, nil, true},
	}
	for _, c := range cases {
		got, err := LoadVocab(c.fs, ".")
		if c.bad != (err != nil) || (!c.bad && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("%s: got %q, %v", c.name, got, err)
		}
	}
}
