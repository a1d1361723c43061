package processor

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseImageConfig(t *testing.T) {
	cases := []struct {
		json    string
		check   func(ImageOptions) bool
		wantErr string
	}{
		{`{}`, func(o ImageOptions) bool { return reflect.DeepEqual(o, DefaultImageOptions()) }, ""},
		{`{"size": {"shortest_edge": 96}, "size_divisor": 16}`, func(o ImageOptions) bool { return o.ShortestEdge == 96 && o.SizeDivisor == 16 }, ""},
		{`{"size": 224}`, func(o ImageOptions) bool { return o.ShortestEdge == 224 }, ""},
		// dandelin's checkpoints: the older ViltFeatureExtractor file with an integer size
		{`{"do_normalize": true, "do_resize": true, "feature_extractor_type": "ViltFeatureExtractor", "image_mean": [0.5,0.5,0.5],
			"image_std": [0.5,0.5,0.5], "resample": 3, "size": 384, "size_divisor": 32}`,
			func(o ImageOptions) bool { return reflect.DeepEqual(o, DefaultImageOptions()) }, ""},
		{`{"size": "big"}`, nil, "size"},
		{`{"image_mean": 0.4, "image_std": [0.1, 0.2, 0.3]}`, func(o ImageOptions) bool {
			return reflect.DeepEqual(o.ImageMean, []float64{0.4}) && reflect.DeepEqual(o.ImageStd, []float64{0.1, 0.2, 0.3})
		}, ""},
		{`{"do_resize": false, "do_rescale": false, "do_normalize": false, "do_pad": false, "resample": 2, "rescale_factor": 0.5}`, func(o ImageOptions) bool {
			return !o.DoResize && !o.DoRescale && !o.DoNormalize && !o.DoPad && o.Resample == ResampleBilinear && o.RescaleFactor == 0.5
		}, ""},
		{`{"size": {"height": 384, "width": 384}}`, nil, "shortest_edge"},
		{`{"resample": 9}`, nil, "resample"},
		{`{"image_std": [0.5, 0]}`, nil, "1 or 3"},
		{`{"image_std": 0}`, nil, "zero"},
		{`{"size": {"shortest_edge": 0}}`, nil, "shortest_edge"},
		{`not json`, nil, "parse"},
	}
	for _, c := range cases {
		o := DefaultImageOptions()
		err := ParseImageConfig([]byte(c.json), &o)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one mentioning %q", c.json, err, c.wantErr)
			}
			continue
		}
		if err != nil || !c.check(o) {
			t.Errorf("%s: %+v, %v", c.json, o, err)
		}
	}
}

func TestParseTokenizerConfig(t *testing.T) {
	o := DefaultTokenizerOptions()
	err := ParseTokenizerConfig([]byte(`{"do_lower_case": false, "strip_accents": true, "model_max_length": 1e30,
		"mask_token": {"content": "<mask>", "lstrip": true}, "additional_special_tokens": ["<x>"], "never_split": ["c++"]}`), &o)
	if err != nil {
		t.Fatal(err)
	}
	if o.DoLowerCase || o.StripAccents == nil || !*o.StripAccents || o.ModelMaxLength != 40 || o.MaskToken != "<mask>" ||
		!reflect.DeepEqual(o.SpecialTokens, []string{"<x>"}) || !reflect.DeepEqual(o.NeverSplit, []string{"c++"}) {
		t.Errorf("%+v", o)
	}
}

// TestLoadTokenizerSpecialTokensMap: special_tokens_map.json is read after
// tokenizer_config.json and its tokens win; keys it lacks keep the config's values.
func TestLoadTokenizerSpecialTokensMap(t *testing.T) {
	fsys := fstest.MapFS{
		"tokenizer_config.json": {Data: []byte(`{"do_lower_case": false, "model_max_length": 1000000000000000019884624838656,
			"strip_accents": false, "cls_token": {"content": "<s>", "__type": "AddedToken"}, "mask_token": "[MASK]"}`)},
		"special_tokens_map.json": {Data: []byte(`{"mask_token": "<mask>", "sep_token": {"content": "</s>", "lstrip": false}}`)},
		"vocab.txt":               {Data: []byte("[PAD]\n[UNK]\n<s>\n</s>\n<mask>\nhello\n")},
	}
	tok, err := LoadTokenizer(fsys)
	if err != nil {
		t.Fatal(err)
	}
	o := tok.Options()
	if o.DoLowerCase || o.ModelMaxLength != 40 || o.StripAccents == nil || *o.StripAccents ||
		o.ClsToken != "<s>" || o.SepToken != "</s>" || o.MaskToken != "<mask>" || o.PadToken != "[PAD]" {
		t.Errorf("%+v", o)
	}
	if e, err := tok.Encode("hello <mask>", "", EncodeOptions{}); err != nil || !reflect.DeepEqual(e.IDs, []int64{2, 5, 4, 3}) {
		t.Errorf("ids %v, %v", e, err)
	}
	bad := fstest.MapFS{"special_tokens_map.json": {Data: []byte(`[`)}, "vocab.txt": {Data: []byte("a\n")}}
	if _, err := LoadTokenizer(bad); err == nil || !strings.Contains(err.Error(), "special_tokens_map.json") {
		t.Errorf("bad special_tokens_map.json: %v", err)
	}
}

// TestVocabFiles: vocab.txt and tokenizer.json vocabularies; malformed files fail;
// LoadTokenizer prefers vocab.txt.
func TestVocabFiles(t *testing.T) {
	cases := []struct {
		name, file, data string
		want             []string // token of each id ("" = none)
		bad              string
	}{
		{"txt lf", "vocab.txt", "[PAD]\n[UNK]\nb\n", []string{"[PAD]", "[UNK]", "b"}, ""},
		{"json added", "tokenizer.json", `{"model": {"type": "WordPiece", "vocab": {"b": 2, "[UNK]": 0, "a": 1}},
			"added_tokens": [{"id": 3, "content": "[X]"}, {"id": 0, "content": "[UNK]"}]}`, []string{"[UNK]", "a", "b", "[X]"}, ""},
		{"json gap", "tokenizer.json", `{"model": {"vocab": {"[UNK]": 0, "c": 2}}}`, []string{"[UNK]", "", "c"}, ""},
		{"json id twice", "tokenizer.json", `{"model": {"vocab": {"[UNK]": 0, "a": 1, "b": 1}}}`, nil, "both"},
		{"json added clash", "tokenizer.json", `{"model": {"vocab": {"[UNK]": 0}}, "added_tokens": [{"id": 0, "content": "[X]"}]}`, nil, "both"},
		{"json bpe", "tokenizer.json", `{"model": {"type": "BPE", "vocab": {"a": 0}}}`, nil, "WordPiece"},
		{"json huge id", "tokenizer.json", `{"model": {"vocab": {"a": 99999999999}}}`, nil, "out of range"},
		{"json empty", "tokenizer.json", `{"model": {"vocab": {}}}`, nil, "empty"},
		{"txt empty", "vocab.txt", "", nil, "empty"},
	}
	for _, c := range cases {
		var v *Vocab
		var err error
		if c.file == "vocab.txt" {
			v, err = ReadVocabTxt(strings.NewReader(c.data))
		} else {
			v, err = ReadTokenizerJSON(strings.NewReader(c.data), nil)
		}
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if v.Len() != len(c.want) {
			t.Errorf("%s: %d ids, want %d", c.name, v.Len(), len(c.want))
			continue
		}
		for id, w := range c.want {
			if got, ok := v.Token(id); got != w || ok != (w != "") {
				t.Errorf("%s: token %d = %q %v, want %q", c.name, id, got, ok, w)
			}
		}
	}
	both := fstest.MapFS{"vocab.txt": {Data: []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")}, "tokenizer.json": {Data: []byte(`{`)}}
	if tok, err := LoadTokenizer(both); err != nil || tok.Vocab().Len() != 5 {
		t.Errorf("vocab.txt next to a broken tokenizer.json: %v", err)
	}
	if _, err := LoadTokenizer(fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), "no vocab.txt") {
		t.Errorf("no vocabulary: %v", err)
	}
}

func TestReadVocabTxtNewlines(t *testing.T) {
	v, err := ReadVocabTxt(strings.NewReader("\ufeffa\r\nb\rc\n\nd"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "c", "", "d"}
	for i, w := range want {
		if got, _ := v.Token(i); got != w {
			t.Errorf("token %d = %q, want %q", i, got, w)
		}
	}
	// a repeated token keeps its last id, as load_vocab's dict does
	v = NewVocab([]string{"x", "y", "x"})
	if id, _ := v.ID("x"); id != 2 {
		t.Errorf("duplicate: id %d", id)
	}
	if _, ok := v.Token(0); ok {
		t.Error("overwritten id 0 should have no token")
	}
}

// TestLoadTokenizerJSON: a tokenizers-library file without vocab.txt.
func TestLoadTokenizerJSON(t *testing.T) {
	fsys := fstest.MapFS{"tokenizer.json": {Data: []byte(`{
		"added_tokens": [{"id": 0, "content": "[PAD]", "special": true}, {"id": 5, "content": "[MASK]", "special": true}],
		"normalizer": {"type": "BertNormalizer", "lowercase": true, "strip_accents": null, "handle_chinese_chars": true, "clean_text": true},
		"model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
			"vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "[MASK]": 5, "world": 6, "##s": 7}}}`)}}
	tok, err := LoadTokenizer(fsys)
	if err != nil {
		t.Fatal(err)
	}
	e, err := tok.Encode("Héllo Worlds [MASK]", "", EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{2, 4, 6, 7, 5, 3}; !reflect.DeepEqual(e.IDs, want) {
		t.Errorf("ids %v want %v (tokens %q)", e.IDs, want, e.Tokens)
	}
	if _, err := LoadTokenizer(fstest.MapFS{}); err == nil {
		t.Error("empty folder: want an error")
	}
	bad := fstest.MapFS{"tokenizer.json": {Data: []byte(`{"model": {"type": "BPE", "vocab": {}}}`)}}
	if _, err := LoadTokenizer(bad); err == nil {
		t.Error("BPE model: want an error")
	}
}

func TestLoadImageOptionsMissingFile(t *testing.T) {
	o, err := LoadImageOptions(fstest.MapFS{}, "preprocessor_config.json")
	if err != nil || !reflect.DeepEqual(o, DefaultImageOptions()) {
		t.Errorf("%+v %v", o, err)
	}
}
