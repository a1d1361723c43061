package processor

import (
	"bytes"
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

// TestJPEGDecodeDifference: the golden JPEG photo decodes to exactly the bytes
// libjpeg-turbo gave Pillow (decoded_u8), and for the record logs how far Go's
// image/jpeg (which DecodeImage used before) is from them.
func TestJPEGDecodeDifference(t *testing.T) {
	src := goldenSource(t, "images/rgb_333x500.jpg")
	g := readST(t, goldenSource(t, "images/rgb_333x500.safetensors"))
	want := rgbFromTensor(g["decoded_u8"])
	got := decodeFile(t, src)
	if got.Width != want.Width || got.Height != want.Height {
		t.Fatalf("decoded %dx%d, golden %dx%d", got.Width, got.Height, want.Width, want.Height)
	}
	if maxd, n, _ := jpegStats(got.Pix, want.Pix); n != 0 {
		t.Errorf("decode differs from decoded_u8 in %d bytes, max %d", n, maxd)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	m, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	goImg := toRGB(m, FormatJPEG, false)
	maxd, n, hist := jpegStats(goImg.Pix, want.Pix)
	t.Logf("Go image/jpeg vs libjpeg-turbo (decoded_u8): %d of %d bytes differ, max %d, |diff| histogram 0..7+ %v", n, len(goImg.Pix), maxd, hist)
}
