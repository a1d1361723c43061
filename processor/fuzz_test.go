package processor

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// fuzzTokenizer uses the real vocabulary when shared data is present, else a
// small built-in one, so the fuzz target runs anywhere.
func fuzzTokenizer(f *testing.F) *Tokenizer {
	if _, err := os.Stat(sharedDir + "/vilt-data/vocab.txt"); err == nil {
		return testTokenizer(f)
	}
	v := NewVocab(strings.Fields("[PAD] [UNK] [CLS] [SEP] [MASK] a b c the cat ##s ##t . , ! ? 中 é"))
	tok, err := NewTokenizer(v, DefaultTokenizerOptions())
	if err != nil {
		f.Fatal(err)
	}
	tok.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return tok
}

// FuzzTokenizer: no panics; ids within the vocabulary; at most MaxLength
// tokens by default; tokens and decoded text are valid UTF-8 for valid input.
func FuzzTokenizer(f *testing.F) {
	tok := fuzzTokenizer(f)
	for _, s := range []string{"How many cats are there?", "a [MASK] cat[SEP]", "Café İstanbul ﬁne", "北京欢迎你 한국어",
		"\x00control\x07\u200b\u00ad", "x² ½ $100 €50", strings.Repeat("a", 150), "[CLS[SEP]]", "\xff\xfe", "e\u0301\u0308"} {
		f.Add(s, "")
		f.Add(s, "second segment")
	}
	f.Fuzz(func(t *testing.T, text, pair string) {
		for _, opts := range []EncodeOptions{{}, {Padding: PaddingMaxLength, MaxLength: 16, Truncation: TruncationSilent}} {
			e, err := tok.Encode(text, pair, opts)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if max := tok.maxLength(opts); len(e.IDs) > max {
				t.Fatalf("%d ids > max length %d", len(e.IDs), max)
			}
			if len(e.IDs) != len(e.TypeIDs) || len(e.IDs) != len(e.AttentionMask) || len(e.IDs) != len(e.Tokens) {
				t.Fatal("ragged encoding")
			}
			for _, id := range e.IDs {
				if id < 0 || id >= int64(tok.Vocab().Len()) {
					t.Fatalf("id %d out of range", id)
				}
			}
			d := tok.Decode(e.IDs, true)
			if utf8.ValidString(text) && utf8.ValidString(pair) {
				for _, s := range e.Tokens {
					if !utf8.ValidString(s) {
						t.Fatalf("invalid UTF-8 token %q", s)
					}
				}
				if !utf8.ValidString(d) {
					t.Fatalf("invalid UTF-8 decode %q", d)
				}
			}
		}
		_ = tok.Decode([]int64{-5, 1 << 40, 0, 101}, false) // out-of-range ids decode as [UNK]
	})
}

// fuzzSeeds are small images in every format DecodeImage reads.
func fuzzSeeds(f *testing.F) [][]byte {
	m := image.NewNRGBA(image.Rect(0, 0, 5, 4))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 37)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 4, 3), color.Palette{color.RGBA{1, 2, 3, 255}, color.NRGBA{200, 100, 50, 128}})
	pal.Pix[3] = 1
	g16 := image.NewGray16(image.Rect(0, 0, 3, 3))
	for i := range g16.Pix {
		g16.Pix[i] = uint8(i * 91)
	}
	var out [][]byte
	enc := func(fn func(io.Writer) error) {
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			f.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	enc(func(w io.Writer) error { return png.Encode(w, m) })
	enc(func(w io.Writer) error { return png.Encode(w, pal) })
	enc(func(w io.Writer) error { return png.Encode(w, g16) })
	enc(func(w io.Writer) error { return jpeg.Encode(w, m, nil) })
	enc(func(w io.Writer) error { return gif.Encode(w, pal, nil) })
	enc(func(w io.Writer) error { return bmp.Encode(w, m) })
	enc(func(w io.Writer) error { return tiff.Encode(w, m, nil) })
	for _, name := range []string{sharedDir + "/golden/images/tiny_3x2.png", "testdata/gray_L_64x48.png"} {
		if b, err := os.ReadFile(name); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// FuzzDecodeImage: the decoders never panic or return an inconsistent image,
// the pixel limit holds, and the processor handles whatever decodes.
func FuzzDecodeImage(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	p, err := NewImageProcessor(ImageOptions{DoResize: true, ShortestEdge: 32, SizeDivisor: 32, Resample: ResampleBicubic,
		DoRescale: true, RescaleFactor: 1.0 / 255, DoNormalize: true, ImageMean: []float64{0.5}, ImageStd: []float64{0.5}, DoPad: true})
	if err != nil {
		f.Fatal(err)
	}
	const maxPixels = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeImageBytes(data, DecodeOptions{MaxPixels: maxPixels, ApplyEXIFOrientation: true})
		if err != nil {
			if !errors.Is(err, ErrUnsupportedImage) && !errors.Is(err, ErrCorruptImage) && !errors.Is(err, ErrImageTooLarge) && !errors.Is(err, ErrEmptyImage) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if img.Width <= 0 || img.Height <= 0 || len(img.Pix) != img.Width*img.Height*3 || img.Width*img.Height > maxPixels {
			t.Fatalf("bad image %dx%d with %d bytes", img.Width, img.Height, len(img.Pix))
		}
		if _, err := p.Preprocess([]*RGBImage{img}); err != nil && !errors.Is(err, ErrImageTooThin) {
			t.Fatalf("preprocess: %v", err)
		}
	})
}

// FuzzModelFiles: the tokenizer and image-processor side files of a model folder never
// make the loaders panic, and what loads is usable.
func FuzzModelFiles(f *testing.F) {
	f.Add([]byte(`{"do_lower_case": true, "strip_accents": null, "model_max_length": 40}`), []byte(`{"mask_token": {"content": "[MASK]"}}`),
		[]byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n"), []byte(`{"size": 384, "image_mean": 0.5}`))
	f.Add([]byte(`{"added_tokens_decoder": {"0": {"content": "[PAD]", "special": true}}}`), []byte(`{}`),
		[]byte(`{"normalizer": {"type": "BertNormalizer", "lowercase": false}, "model": {"type": "WordPiece",
			"vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}}, "added_tokens": [{"id": 5, "content": "x", "special": true}]}`),
		[]byte(`{"size": {"shortest_edge": 96}, "image_std": [0.1, 0.2, 0.3]}`))
	f.Fuzz(func(t *testing.T, config, specialMap, vocab, preprocessor []byte) {
		fsys := fstest.MapFS{"tokenizer_config.json": {Data: config}, "special_tokens_map.json": {Data: specialMap},
			"preprocessor_config.json": {Data: preprocessor}}
		if bytes.HasPrefix(vocab, []byte("{")) {
			fsys["tokenizer.json"] = &fstest.MapFile{Data: vocab}
		} else {
			fsys["vocab.txt"] = &fstest.MapFile{Data: vocab}
		}
		if tok, err := LoadTokenizer(fsys); err == nil {
			e, err := tok.Encode("a [MASK] b", "", EncodeOptions{})
			if err != nil {
				t.Fatalf("loaded tokenizer cannot encode: %v", err)
			}
			for _, id := range e.IDs {
				if id < 0 || id >= int64(tok.Vocab().Len()) {
					t.Fatalf("id %d out of range", id)
				}
			}
		}
		if opts, err := LoadImageOptions(fsys, "preprocessor_config.json"); err == nil {
			if err := opts.Validate(); err != nil {
				t.Fatalf("loaded image options do not validate: %v", err)
			}
		}
	})
}
