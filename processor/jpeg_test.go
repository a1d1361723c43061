package processor

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
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

// TestJPEGLayouts: small files in layouts the shared goldens lack (restart
// intervals, 4:4:0, 4:1:1, 3×1, 2×4, mixed factors, narrow images, custom
// progressive scripts, RGB, CMYK and YCCK), each against Pillow's decode
// (testdata/jpeg/gen.py made them).
func TestJPEGLayouts(t *testing.T) {
	files, err := filepath.Glob("testdata/jpeg/*.jpg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test JPEGs: %v", err)
	}
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
