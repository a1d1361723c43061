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

// TestJPEGDecodeDifference documents how Go's image/jpeg differs from the
// libjpeg-turbo decode the goldens used (decoded_u8), step by step, and checks
// that DecodeImage (internal/jpeg) removes the difference entirely.
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
	ycc := m.(*image.YCbCr)
	t.Logf("subsampling %v", ycc.SubsampleRatio)
	plain := NewRGBImage(want.Width, want.Height)
	ycbcrToRGB(plain, ycc)
	maxd, n, hist := jpegStats(plain.Pix, want.Pix)
	t.Logf("Go image/jpeg + image/color (nearest chroma): %d of %d bytes differ, max %d, |diff| histogram 0..7+ %v", n, len(plain.Pix), maxd, hist)

	fancy := NewRGBImage(want.Width, want.Height)
	jpegYCbCrToRGB(fancy, ycc) // libjpeg's chroma upsampling and colour tables on Go's IDCT output
	maxd, n, hist = jpegStats(fancy.Pix, want.Pix)
	t.Logf("Go image/jpeg IDCT + libjpeg upsampling/colour: %d of %d bytes differ, max %d, |diff| histogram 0..7+ %v", n, len(fancy.Pix), maxd, hist)

	p, _ := NewImageProcessor(DefaultImageOptions())
	res, err := p.Resize(plain)
	if err != nil {
		t.Fatal(err)
	}
	maxd, n, _ = jpegStats(res.Pix, g["resized_u8"].Data)
	t.Logf("resize of plain image/jpeg decode vs resized_u8: %d of %d bytes differ, max %d", n, len(res.Pix), maxd)

	got := decodeFile(t, src) // internal/jpeg: libjpeg's islow IDCT as well
	if !bytes.Equal(got.Pix, want.Pix) {
		maxd, n, _ = jpegStats(got.Pix, want.Pix)
		t.Errorf("DecodeImage differs from libjpeg-turbo's decode: %d bytes, max %d", n, maxd)
	}
}
