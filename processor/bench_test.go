package processor

import (
	"os"
	"testing"
)

func benchCats(b *testing.B) (*RGBImage, []byte) {
	data, err := os.ReadFile(sharedPath(b, "vilt-data/cats.png"))
	if err != nil {
		b.Fatal(err)
	}
	img, err := DecodeImageBytes(data, DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return img, data
}

func reportMs(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}

// BenchmarkTokenizerEncode: one VQA question, [CLS] … [SEP], as ViltProcessor does it.
func BenchmarkTokenizerEncode(b *testing.B) {
	tok := testTokenizer(b)
	for b.Loop() {
		if _, err := tok.Encode("How many cats are there?", "", EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkTokenizerGoldenTexts cycles through the 45 golden texts (accents, CJK, long words).
func BenchmarkTokenizerGoldenTexts(b *testing.B) {
	tok := testTokenizer(b)
	var texts []string
	data, err := os.ReadFile(sharedPath(b, "golden/tokenizer/bert_uncased_cases.json"))
	if err != nil {
		b.Fatal(err)
	}
	g := tokGoldenFrom(b, data)
	for _, c := range g.Cases {
		texts = append(texts, c.Text)
	}
	i := 0
	for b.Loop() {
		if _, err := tok.Encode(texts[i%len(texts)], "", EncodeOptions{Truncation: TruncationSilent}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkDecodeCatsPNG: DecodeImage of the 640×480 PNG (Python: 6.8 ms).
func BenchmarkDecodeCatsPNG(b *testing.B) {
	_, data := benchCats(b)
	for b.Loop() {
		if _, err := DecodeImageBytes(data, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	reportMs(b)
}

// BenchmarkResizeCats: Pillow-exact bicubic 640×480 → 512×384 alone.
func BenchmarkResizeCats(b *testing.B) {
	img, _ := benchCats(b)
	for b.Loop() {
		if _, err := ResizeRGB(img, 512, 384, ResampleBicubic); err != nil {
			b.Fatal(err)
		}
	}
	reportMs(b)
}

// BenchmarkImageProcessorCats: ViltImageProcessor on the decoded photo (Python: 7.9 ms).
func BenchmarkImageProcessorCats(b *testing.B) {
	img, _ := benchCats(b)
	p, err := NewImageProcessor(DefaultImageOptions())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := p.Preprocess([]*RGBImage{img}); err != nil {
			b.Fatal(err)
		}
	}
	reportMs(b)
}

// BenchmarkProcessorCats: ViltProcessor(images=cats, text=question), image
// already decoded (Python: 8.5 ms).
func BenchmarkProcessorCats(b *testing.B) {
	img, _ := benchCats(b)
	ip, err := NewImageProcessor(DefaultImageOptions())
	if err != nil {
		b.Fatal(err)
	}
	p := &Processor{Tokenizer: testTokenizer(b), Images: ip}
	in := Inputs{Texts: []string{"How many cats are there?"}, Images: []*RGBImage{img}}
	for b.Loop() {
		if _, err := p.Process(in, EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	reportMs(b)
}

// BenchmarkDecodeJPEG: the 333×500 4:2:0 golden JPEG through image/jpeg
// (Go's decoder; see TestJPEGDecodeDifference).
func BenchmarkDecodeJPEG(b *testing.B) {
	data, err := os.ReadFile(sharedPath(b, "golden/images/rgb_333x500.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := DecodeImageBytes(data, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	reportMs(b)
}
