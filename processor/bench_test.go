package processor

import (
	"bytes"
	"image"
	"image/jpeg"
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

// BenchmarkDecodeJPEG: the 333×500 4:2:0 golden JPEG through DecodeImageBytes
// (our libjpeg-compatible decoder).
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

// catsJPEG is the 640×480 cats photo re-encoded as a quality-75 4:2:0 JPEG
// (Pillow's defaults for quality and subsampling).
func catsJPEG(b *testing.B) []byte {
	img := decodeFile(b, sharedPath(b, "vilt-data/cats.png"))
	m := image.NewRGBA(image.Rect(0, 0, img.Width, img.Height))
	for i := 0; i < img.Width*img.Height; i++ {
		copy(m.Pix[i*4:], img.Pix[i*3:i*3+3])
		m.Pix[i*4+3] = 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 75}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeCatsJPEG compares our decoder with Go's image/jpeg on the cats
// photo as JPEG: "ours" is the whole DecodeImageBytes (to RGB), "image-jpeg" is
// jpeg.Decode plus the conversion to RGB DecodeImage used to do, and
// "image-jpeg-ycbcr" jpeg.Decode alone (planar YCbCr, no colour conversion).
func BenchmarkDecodeCatsJPEG(b *testing.B) {
	data := catsJPEG(b)
	if os.Getenv("VILT_CATS_JPEG_OUT") != "" { // to time other decoders on the same file
		if err := os.WriteFile(os.Getenv("VILT_CATS_JPEG_OUT"), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("ours", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeImageBytes(data, DecodeOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		reportMs(b)
	})
	b.Run("image-jpeg", func(b *testing.B) {
		for b.Loop() {
			m, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			toRGB(m, FormatJPEG, false)
		}
		reportMs(b)
	})
	b.Run("image-jpeg-ycbcr", func(b *testing.B) {
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
		reportMs(b)
	})
}
