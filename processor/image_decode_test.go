package processor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

func pngChunkBytes(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// exifWithOrientation is a big-endian TIFF block holding only the orientation tag.
func exifWithOrientation(o uint16) []byte {
	var b bytes.Buffer
	b.WriteString("MM\x00\x2a")
	binary.Write(&b, binary.BigEndian, uint32(8))
	binary.Write(&b, binary.BigEndian, uint16(1))
	binary.Write(&b, binary.BigEndian, []uint16{0x0112, 3})
	binary.Write(&b, binary.BigEndian, uint32(1))
	binary.Write(&b, binary.BigEndian, []uint16{o, 0})
	binary.Write(&b, binary.BigEndian, uint32(0))
	return b.Bytes()
}

// testPattern is a w×h image whose pixel (x, y) is (x, y, 7).
func testPattern(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), 7, 255})
		}
	}
	return m
}

func encodePNG(t *testing.T, m image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEXIFOrientation: each orientation of PIL's exif_transpose, via a PNG eXIf chunk.
func TestEXIFOrientation(t *testing.T) {
	const w, h = 3, 2
	src := encodePNG(t, testPattern(w, h))
	// (x, y) of the source pixel that lands at output (0,0) and (1,0)
	want := map[uint16][2][2]int{
		1: {{0, 0}, {1, 0}}, 2: {{2, 0}, {1, 0}}, 3: {{2, 1}, {1, 1}}, 4: {{0, 1}, {1, 1}},
		5: {{0, 0}, {0, 1}}, 6: {{0, 1}, {0, 0}}, 7: {{2, 1}, {2, 0}}, 8: {{2, 0}, {2, 1}},
	}
	for o, px := range want {
		// insert eXIf right after IHDR (8-byte signature + 25-byte IHDR chunk)
		data := append(append(append([]byte{}, src[:33]...), pngChunkBytes("eXIf", exifWithOrientation(o))...), src[33:]...)
		plain, err := DecodeImageBytes(data, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if plain.Width != w {
			t.Errorf("orientation %d applied without ApplyEXIFOrientation", o)
		}
		img, err := DecodeImageBytes(data, DecodeOptions{ApplyEXIFOrientation: true})
		if err != nil {
			t.Fatal(err)
		}
		if o >= 5 && (img.Width != h || img.Height != w) || o < 5 && (img.Width != w || img.Height != h) {
			t.Errorf("orientation %d: %dx%d", o, img.Width, img.Height)
		}
		for i, p := range px {
			if got := [2]int{int(img.Pix[i*3]), int(img.Pix[i*3+1])}; got != p {
				t.Errorf("orientation %d: output pixel (%d,0) comes from %v, want %v", o, i, got, p)
			}
		}
	}
	// JPEG: APP1 Exif after SOI.
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, testPattern(w, h), nil); err != nil {
		t.Fatal(err)
	}
	exif := append([]byte("Exif\x00\x00"), exifWithOrientation(6)...)
	app1 := append([]byte{0xFF, 0xE1, byte((len(exif) + 2) >> 8), byte(len(exif) + 2)}, exif...)
	data := append(append(append([]byte{}, jb.Bytes()[:2]...), app1...), jb.Bytes()[2:]...)
	img, err := DecodeImageBytes(data, DecodeOptions{ApplyEXIFOrientation: true})
	if err != nil || img.Width != h || img.Height != w {
		t.Errorf("JPEG orientation 6: %v %v", img, err)
	}
}

// TestDecodeFormatsAndModes checks conversions the goldens do not cover.
func TestDecodeFormatsAndModes(t *testing.T) {
	// 16-bit RGB: Pillow keeps the high byte.
	m16 := image.NewRGBA64(image.Rect(0, 0, 1, 1))
	m16.SetRGBA64(0, 0, color.RGBA64{0x1234, 0xABCD, 0x00FF, 0xFFFF})
	img, err := DecodeImageBytes(encodePNG(t, m16), DecodeOptions{})
	if err != nil || !bytes.Equal(img.Pix, []byte{0x12, 0xAB, 0x00}) {
		t.Errorf("16-bit RGB: %v %v", img, err)
	}
	// 16-bit gray: clipped like Pillow's mode I → RGB.
	g16 := image.NewGray16(image.Rect(0, 0, 3, 1))
	for i, v := range []uint16{100, 255, 256} {
		g16.SetGray16(i, 0, color.Gray16{v})
	}
	img, err = DecodeImageBytes(encodePNG(t, g16), DecodeOptions{})
	if err != nil || !bytes.Equal(img.Pix, []byte{100, 100, 100, 255, 255, 255, 255, 255, 255}) {
		t.Errorf("16-bit gray: %v %v", img, err)
	}
	// Palette with a translucent entry: the stored RGB, alpha ignored.
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.NRGBA{10, 20, 30, 255}, color.NRGBA{200, 100, 50, 40}})
	pal.Pix[1] = 1
	img, err = DecodeImageBytes(encodePNG(t, pal), DecodeOptions{})
	if err != nil || !bytes.Equal(img.Pix, []byte{10, 20, 30, 200, 100, 50}) {
		t.Errorf("palette: %v %v", img, err)
	}
	// NRGBA with alpha: dropped, not composited.
	na := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	na.SetNRGBA(0, 0, color.NRGBA{90, 80, 70, 3})
	img, err = DecodeImageBytes(encodePNG(t, na), DecodeOptions{})
	if err != nil || !bytes.Equal(img.Pix, []byte{90, 80, 70}) {
		t.Errorf("alpha: %v %v", img, err)
	}
	// GIF whose first frame is smaller than the screen: pasted at its offset.
	frame := image.NewPaletted(image.Rect(1, 1, 3, 2), color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{255, 0, 0, 255}})
	frame.Pix[0], frame.Pix[1] = 1, 1
	var gb bytes.Buffer
	if err := gif.EncodeAll(&gb, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0}, Config: image.Config{Width: 4, Height: 3, ColorModel: frame.Palette}}); err != nil {
		t.Fatal(err)
	}
	img, err = DecodeImageBytes(gb.Bytes(), DecodeOptions{})
	if err != nil || img.Width != 4 || img.Height != 3 || img.Pix[(1*4+1)*3] != 255 || img.Pix[0] != 0 {
		t.Errorf("gif: %+v %v", img, err)
	}
	// BMP and TIFF round trips are lossless.
	pat := testPattern(5, 4)
	want := FromImage(pat)
	for name, enc := range map[string]func(*bytes.Buffer) error{
		"bmp":  func(b *bytes.Buffer) error { return bmp.Encode(b, pat) },
		"tiff": func(b *bytes.Buffer) error { return tiff.Encode(b, pat, nil) },
	} {
		var b bytes.Buffer
		if err := enc(&b); err != nil {
			t.Fatal(err)
		}
		img, err := DecodeImageBytes(b.Bytes(), DecodeOptions{})
		if err != nil || !bytes.Equal(img.Pix, want.Pix) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDecodeErrors: bombs are refused from the header, bad input gives typed errors.
func TestDecodeErrors(t *testing.T) {
	ihdr := func(w, h uint32) []byte {
		var d bytes.Buffer
		binary.Write(&d, binary.BigEndian, []uint32{w, h})
		d.Write([]byte{8, 2, 0, 0, 0})
		return append([]byte("\x89PNG\r\n\x1a\n"), pngChunkBytes("IHDR", d.Bytes())...)
	}
	cases := []struct {
		name string
		data []byte
		opts DecodeOptions
		want error
	}{
		{"bomb header", ihdr(100000, 100000), DecodeOptions{}, ErrImageTooLarge},
		{"over a custom limit", encodePNG(t, testPattern(10, 10)), DecodeOptions{MaxPixels: 99}, ErrImageTooLarge},
		{"too many bytes", encodePNG(t, testPattern(10, 10)), DecodeOptions{MaxBytes: 20}, ErrImageTooLarge},
		{"zero width", ihdr(0, 10), DecodeOptions{}, ErrCorruptImage}, // Go's png rejects it in DecodeConfig
		{"truncated", encodePNG(t, testPattern(10, 10))[:60], DecodeOptions{}, ErrCorruptImage},
		{"text", []byte("hello, world"), DecodeOptions{}, ErrUnsupportedImage},
		{"empty", nil, DecodeOptions{}, ErrUnsupportedImage},
	}
	for _, c := range cases {
		_, err := DecodeImage(bytes.NewReader(c.data), c.opts)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

// TestResizeFilters: every Pillow filter keeps a flat image flat and gives the
// requested size; nearest picks int(scale·(x+0.5)).
func TestResizeFilters(t *testing.T) {
	flat := NewRGBImage(7, 5)
	for i := range flat.Pix {
		flat.Pix[i] = 77
	}
	for r := ResampleNearest; r <= ResampleHamming; r++ {
		for _, sz := range [][2]int{{3, 2}, {15, 11}, {7, 9}} {
			out, err := ResizeRGB(flat, sz[0], sz[1], r)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range out.Pix {
				if v != 77 {
					t.Fatalf("%v %v: value %d", r, sz, v)
				}
			}
		}
	}
	line := &RGBImage{Width: 4, Height: 1, Pix: []uint8{0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30}}
	out, _ := ResizeRGB(line, 2, 1, ResampleNearest)
	if !bytes.Equal(out.Pix, []uint8{10, 10, 10, 30, 30, 30}) {
		t.Errorf("nearest: %v", out.Pix)
	}
	if _, err := ResizeRGB(line, 0, 1, ResampleBicubic); !errors.Is(err, ErrImageTooThin) {
		t.Errorf("zero width: %v", err)
	}
}

// TestOutputSize: the README's examples.
func TestOutputSize(t *testing.T) {
	p, _ := NewImageProcessor(DefaultImageOptions())
	cases := [][4]int{ // w, h in; h, w out
		{640, 480, 384, 512}, {500, 333, 384, 576}, {333, 500, 576, 384}, {100, 1000, 608, 64}, {3, 2, 384, 576}, {1, 1, 384, 384},
	}
	for _, c := range cases {
		h, w, err := p.OutputSize(c[1], c[0])
		if err != nil || h != c[2] || w != c[3] {
			t.Errorf("%dx%d: %dx%d %v, want %dx%d", c[0], c[1], h, w, err, c[2], c[3])
		}
	}
	if _, _, err := p.OutputSize(10, 2000); !errors.Is(err, ErrImageTooThin) {
		t.Errorf("2000x10: %v", err)
	}
	o := DefaultImageOptions()
	o.ShortestEdge = 96
	p96, _ := NewImageProcessor(o)
	if h, w, _ := p96.OutputSize(480, 640); h != 96 || w != 128 {
		t.Errorf("shortest 96: %dx%d", h, w)
	}
}
