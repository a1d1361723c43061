package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// decodeReadPNG returns a PNG's pixels as packed RGB and checks it is 8-bit RGB.
func decodeReadPNG(t *testing.T, path string) (w, h int, pix []byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	rgba, ok := m.(*image.RGBA)
	if !ok {
		t.Fatalf("%s decodes to %T, want 8-bit RGB", path, m)
	}
	b := rgba.Bounds()
	for i := 0; i < b.Dx()*b.Dy(); i++ {
		pix = append(pix, rgba.Pix[4*i:4*i+3]...)
	}
	return b.Dx(), b.Dy(), pix
}

// decodeReadPPM reads a binary 8-bit PPM.
func decodeReadPPM(t *testing.T, path string) (w, h int, pix []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var magic string
	var maxv int
	if _, err := fmt.Fscan(bytes.NewReader(data), &magic, &w, &h, &maxv); err != nil || magic != "P6" || maxv != 255 {
		t.Fatalf("%s: not an 8-bit P6 PPM", path)
	}
	return w, h, data[len(data)-w*h*3:]
}

// TestDecodeCommandJPEGGoldens: `vilt decode` writes exactly Pillow's decode
// of every golden JPEG (the .ppm goldens and the photo's decoded_u8).
func TestDecodeCommandJPEGGoldens(t *testing.T) {
	jpegs, _ := filepath.Glob(filepath.Join(procShared, "golden/jpeg/*.jpg"))
	if len(jpegs) == 0 {
		t.Fatal("no golden JPEGs")
	}
	photo := filepath.Join(procShared, "golden/images/rgb_333x500.jpg")
	dir := t.TempDir()
	args := append([]string{"decode", "--output", dir}, jpegs...)
	args = append(args, photo)
	var stdout, errb bytes.Buffer
	if code := run(args, &stdout, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, j := range jpegs {
		name := strings.TrimSuffix(filepath.Base(j), ".jpg")
		gw, gh, got := decodeReadPNG(t, filepath.Join(dir, name+".png"))
		ww, wh, want := decodeReadPPM(t, strings.TrimSuffix(j, ".jpg")+".ppm")
		if gw != ww || gh != wh || !bytes.Equal(got, want) {
			t.Errorf("%s: %dx%d differs from the %dx%d golden", name, gw, gh, ww, wh)
		}
	}
	ents, data := procReadST(t, filepath.Join(procShared, "golden/images/rgb_333x500.safetensors"))
	gw, gh, got := decodeReadPNG(t, filepath.Join(dir, "rgb_333x500.png"))
	if s := ents["decoded_u8"].Shape; gh != s[0] || gw != s[1] || !bytes.Equal(got, data["decoded_u8"]) {
		t.Errorf("rgb_333x500: %dx%d differs from decoded_u8 %v", gw, gh, s)
	}
}

// TestDecodeCommandErrors: usage errors exit 2, bad images 1 without leaving a file.
func TestDecodeCommandErrors(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(procShared, "golden/images/tiny_3x2.png")
	var stdout, errb bytes.Buffer
	for _, a := range [][]string{
		{"decode", img},                        // no --output
		{"decode", "--output", dir},            // no image
		{"decode", "--output", dir, img, img},  // same output twice
		{"decode", "--output", dir, "--bogus"}, // unknown flag
	} {
		if code := run(a, &stdout, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", a, code)
		}
	}
	bad := filepath.Join(dir, "cut.jpg")
	data, err := os.ReadFile(filepath.Join(procShared, "golden/jpeg/q85_420_baseline_224x168.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if code := run([]string{"decode", bad, "--output", out}, &stdout, &errb); code != 1 {
		t.Errorf("truncated JPEG: exit %d, want 1", code)
	}
	if _, err := os.Stat(filepath.Join(out, "cut.png")); !os.IsNotExist(err) {
		t.Errorf("a PNG was written for a truncated JPEG (%v)", err)
	}
}
