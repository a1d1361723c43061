package processor

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"testing"
)

func jpegStats(a, b []uint8) (maxd, ndiff int, hist [8]int) {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		if d > 0 {
			ndiff++
		}
		maxd = max(maxd, d)
		hist[min(d, 7)]++
	}
	return
}

// TestJPEGDecodeDifference documents how Go's image/jpeg (what DecodeImage uses) differs
// from the libjpeg-turbo decode the goldens used (decoded_u8), and checks that everything
// after decoding is exact when fed decoded_u8 (the processor's own golden test feeds it too).
func TestJPEGDecodeDifference(t *testing.T) {
	src := goldenSource(t, "images/rgb_333x500.jpg")
	g := readST(t, goldenSource(t, "images/rgb_333x500.safetensors"))
	want := rgbFromTensor(g["decoded_u8"])
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	m, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if ycc, ok := m.(*image.YCbCr); ok {
		t.Logf("subsampling %v", ycc.SubsampleRatio)
	}
	got := decodeFile(t, src)
	if got.Width != want.Width || got.Height != want.Height {
		t.Fatalf("decoded %dx%d, golden %dx%d", got.Width, got.Height, want.Width, want.Height)
	}
	maxd, n, hist := jpegStats(got.Pix, want.Pix)
	t.Logf("Go image/jpeg vs libjpeg-turbo (decoded_u8): %d of %d bytes differ, max %d, |diff| histogram 0..7+ %v", n, len(got.Pix), maxd, hist)
	// Go leaves chroma at half resolution (nearest upsampling) and uses another IDCT and
	// colour rounding; a few levels per byte is expected, a gross error is not.
	if maxd > 48 {
		t.Errorf("decode differs by up to %d levels: not a rounding difference", maxd)
	}
	p, _ := NewImageProcessor(DefaultImageOptions())
	res, err := p.Resize(want) // decoded_u8 in: the rest must be exact
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Pix, g["resized_u8"].Data) {
		maxd, n, _ = jpegStats(res.Pix, g["resized_u8"].Data)
		t.Errorf("resize of decoded_u8 differs from resized_u8: %d bytes, max %d", n, maxd)
	}
}
