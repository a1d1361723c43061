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
// libjpeg-turbo decode the goldens used (decoded_u8), and checks that the
// resize of decoded_u8 matches resized_u8 exactly while Go's own decode does not.
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

	got := decodeFile(t, src) // libjpeg-style fancy upsampling and colour tables
	maxd, n, hist = jpegStats(got.Pix, want.Pix)
	t.Logf("DecodeImage (libjpeg-style chroma): %d of %d bytes differ, max %d, |diff| histogram 0..7+ %v", n, len(got.Pix), maxd, hist)
	if maxd > 3 || n > len(got.Pix)/20 {
		t.Errorf("JPEG decode drifted from libjpeg-turbo: %d bytes differ, max %d", n, maxd)
	}

	p, _ := NewImageProcessor(DefaultImageOptions())
	res, err := p.Resize(got)
	if err != nil {
		t.Fatal(err)
	}
	maxd, n, _ = jpegStats(res.Pix, g["resized_u8"].Data)
	t.Logf("resize of our decode vs resized_u8: %d of %d bytes differ, max %d", n, len(res.Pix), maxd)
	res, _ = p.Resize(want)
	if !bytes.Equal(res.Pix, g["resized_u8"].Data) {
		t.Error("resize of decoded_u8 differs from resized_u8")
	}
}
