package processor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// readPPM reads a binary 8-bit PPM (P6).
func readPPM(t testing.TB, path string) *RGBImage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var w, h, maxv int
	var magic string
	n, err := fmt.Fscan(bytes.NewReader(data), &magic, &w, &h, &maxv)
	if err != nil || n != 4 || magic != "P6" || maxv != 255 {
		t.Fatalf("%s: not an 8-bit P6 PPM", path)
	}
	pix := data[len(data)-w*h*3:]
	return &RGBImage{Width: w, Height: h, Pix: pix}
}

// diffRGB counts differing bytes and the largest difference.
func diffRGB(a, b *RGBImage) (n, maxd int) {
	if a.Width != b.Width || a.Height != b.Height {
		return -1, -1
	}
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d != 0 {
			n++
			maxd = max(maxd, d, -d)
		}
	}
	return n, maxd
}

// TestJPEGGoldens: every JPEG Pillow encoded (baseline, progressive,
// optimised tables, 4:4:4/4:2:2/4:2:0, gray, odd sizes) decodes to exactly the
// bytes Pillow's libjpeg-turbo decode gave.
func TestJPEGGoldens(t *testing.T) {
	files, err := filepath.Glob(sharedPath(t, "golden/jpeg") + "/*.jpg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden JPEGs: %v", err)
	}
	decodesAsPPM(t, files)
}

// TestJPEGLayouts: small files in layouts the shared goldens lack (restart
// intervals, 4:4:0, 4:1:1, 3×1, 2×4, mixed factors, narrow images, custom
// progressive scripts, RGB, CMYK and YCCK), each against Pillow's decode
// (testdata/jpeg/gen.py made them).
func TestJPEGLayouts(t *testing.T) {
	files, err := filepath.Glob("testdata/jpeg/*.jpg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test JPEGs: %v", err)
	}
	decodesAsPPM(t, files)
}

// decodesAsPPM checks that each JPEG decodes to exactly the bytes of the .ppm beside it.
func decodesAsPPM(t *testing.T, files []string) {
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := readPPM(t, strings.TrimSuffix(f, ".jpg")+".ppm")
			got := decodeFile(t, f)
			if n, maxd := diffRGB(got, want); n != 0 {
				t.Errorf("%dx%d vs %dx%d: %d bytes differ, max %d", got.Width, got.Height, want.Width, want.Height, n, maxd)
			}
		})
	}
}

// TestJPEGTruncated: a file cut anywhere inside its data is a clear
// ErrCorruptImage (never a partial image, never a panic); one that only lacks
// its EOI marker decodes in full.
func TestJPEGTruncated(t *testing.T) {
	for _, name := range []string{"testdata/jpeg/restart_progressive_420.jpg", "testdata/jpeg/sample_mixed.jpg", "testdata/jpeg/cmyk.jpg"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		full, err := DecodeImageBytes(data, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		noEOI, err := DecodeImageBytes(data[:len(data)-2], DecodeOptions{})
		if err != nil || !bytes.Equal(noEOI.Pix, full.Pix) {
			t.Errorf("%s without EOI: %v", name, err)
		}
		for n := 2; n < len(data)-2; n += 1 + n/16 {
			_, err := DecodeImageBytes(data[:n], DecodeOptions{})
			if !errors.Is(err, ErrCorruptImage) {
				t.Errorf("%s cut at %d: %v, want ErrCorruptImage", name, n, err)
			}
		}
	}
	// A progressive file cut exactly before one of its later scans: every scan
	// read is whole, but coefficients are missing.
	data, err := os.ReadFile("testdata/jpeg/progressive_script.jpg")
	if err != nil {
		t.Fatal(err)
	}
	cuts := 0
	for i := bytes.Index(data, []byte{0xFF, 0xDA}) + 2; ; cuts++ {
		j := bytes.Index(data[i:], []byte{0xFF, 0xDA})
		if j < 0 {
			break
		}
		if _, err := DecodeImageBytes(data[:i+j], DecodeOptions{}); !errors.Is(err, ErrCorruptImage) {
			t.Errorf("progressive file cut before scan %d: %v, want ErrCorruptImage", cuts+2, err)
		}
		i += j + 2
	}
	if cuts < 3 {
		t.Errorf("only %d scan boundaries found", cuts)
	}
	_, err = DecodeImageBytes([]byte("\xff\xd8\xff\xdb\x00\x43\x00"), DecodeOptions{})
	if !errors.Is(err, ErrCorruptImage) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("cut table: %v", err)
	}
}

// jpegHeaderOnly is SOI, a frame header announcing w×h 3-component 4:2:0 and
// nothing else.
func jpegHeaderOnly(w, h int) []byte {
	return []byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1}
}

// TestJPEGBomb: the pixel limit is checked on the frame header, before any
// per-pixel allocation.
func TestJPEGBomb(t *testing.T) {
	data := jpegHeaderOnly(65535, 65535)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeImageBytes(data, DecodeOptions{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrImageTooLarge) {
		t.Fatalf("65535x65535: %v, want ErrImageTooLarge", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("allocated %d bytes before refusing", n)
	}
	if _, err := DecodeImageBytes(jpegHeaderOnly(100, 100), DecodeOptions{MaxPixels: 9999}); !errors.Is(err, ErrImageTooLarge) {
		t.Errorf("100x100 over a 9999 limit: %v", err)
	}
	if _, err := DecodeImageBytes(jpegHeaderOnly(100, 100), DecodeOptions{}); !errors.Is(err, ErrCorruptImage) {
		t.Errorf("header without scans: %v, want ErrCorruptImage", err)
	}
}

// TestJPEGUnsupported: processes and layouts Pillow's libjpeg refuses or we
// do not implement fail with ErrUnsupportedImage.
func TestJPEGUnsupported(t *testing.T) {
	for name, patch := range map[string]func(b []byte){
		"arithmetic":      func(b []byte) { b[3] = 0xC9 },
		"12-bit":          func(b []byte) { b[6] = 12 },
		"2 components":    func(b []byte) { b[11] = 2 },
		"fractional 3x1":  func(b []byte) { b[13] = 0x31; b[16] = 0x21 },
		"DNL height zero": func(b []byte) { b[7], b[8] = 0, 0 },
	} {
		b := jpegHeaderOnly(16, 16)
		patch(b)
		if _, err := DecodeImageBytes(b, DecodeOptions{}); !errors.Is(err, ErrUnsupportedImage) {
			t.Errorf("%s: %v, want ErrUnsupportedImage", name, err)
		}
	}
}

// TestJPEGCorruptBytes: single-byte corruptions of a progressive file with
// restarts either decode to a full-size image or fail with a typed error.
func TestJPEGCorruptBytes(t *testing.T) {
	data, err := os.ReadFile("testdata/jpeg/restart_progressive_420.jpg")
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i < len(data); i += 7 {
		for _, v := range []byte{0x00, 0xFF, data[i] ^ 0x10} {
			b := bytes.Clone(data)
			b[i] = v
			img, err := decodeJPEG(b, 1<<20)
			if err != nil {
				if !errors.Is(err, ErrCorruptImage) && !errors.Is(err, ErrUnsupportedImage) && !errors.Is(err, ErrEmptyImage) && !errors.Is(err, ErrImageTooLarge) {
					t.Errorf("byte %d = %#x: untyped error %v", i, v, err)
				}
				continue
			}
			if len(img.Pix) != img.Width*img.Height*3 {
				t.Errorf("byte %d = %#x: %dx%d image with %d bytes", i, v, img.Width, img.Height, len(img.Pix))
			}
		}
	}
}

// FuzzDecodeJPEG: the decoder never panics, errors are typed, images are
// consistent and within the pixel limit. Seeds: the layout test files.
func FuzzDecodeJPEG(f *testing.F) {
	files, _ := filepath.Glob("testdata/jpeg/*.jpg")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Add(jpegHeaderOnly(8, 8))
	const maxPixels = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := decodeJPEG(data, maxPixels)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedImage) && !errors.Is(err, ErrCorruptImage) && !errors.Is(err, ErrImageTooLarge) && !errors.Is(err, ErrEmptyImage) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if img.Width <= 0 || img.Height <= 0 || len(img.Pix) != img.Width*img.Height*3 || img.Width*img.Height > maxPixels {
			t.Fatalf("bad image %dx%d with %d bytes", img.Width, img.Height, len(img.Pix))
		}
	})
}
