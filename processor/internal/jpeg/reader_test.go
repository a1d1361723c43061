package jpeg

import (
	"bytes"
	"image"
	stdjpeg "image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// planes returns the sample planes of a decoded JPEG.
func planes(m image.Image) [][]byte {
	switch m := m.(type) {
	case *image.YCbCr:
		return [][]byte{m.Y, m.Cb, m.Cr}
	case *image.Gray:
		return [][]byte{m.Pix}
	case *image.CMYK:
		return [][]byte{m.Pix}
	case *image.RGBA:
		return [][]byte{m.Pix}
	}
	return nil
}

// TestAgainstStdlib decodes Go's own JPEG test files (baseline, progressive,
// every subsampling, gray, CMYK, restart markers) and compares with
// image/jpeg: only the IDCT differs, so samples may move by a small amount.
func TestAgainstStdlib(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "src/image/testdata/video-00*.jpeg"))
	if len(files) == 0 {
		t.Skip("GOROOT test images not available")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, werr := stdjpeg.Decode(bytes.NewReader(data))
		got, gerr := Decode(bytes.NewReader(data))
		if (werr == nil) != (gerr == nil) {
			t.Errorf("%s: errors differ: std %v, ours %v", filepath.Base(f), werr, gerr)
			continue
		}
		if werr != nil {
			continue
		}
		if got.Bounds() != want.Bounds() {
			t.Errorf("%s: bounds %v, want %v", filepath.Base(f), got.Bounds(), want.Bounds())
			continue
		}
		gp, wp := planes(got), planes(want)
		if len(gp) == 0 || len(gp) != len(wp) {
			t.Errorf("%s: image type %T, std %T", filepath.Base(f), got, want)
			continue
		}
		maxd := 0
		for i := range gp {
			for j := range gp[i] {
				d := int(gp[i][j]) - int(wp[i][j])
				maxd = max(maxd, d, -d)
			}
		}
		t.Logf("%s: max sample difference from image/jpeg %d", filepath.Base(f), maxd)
		if maxd > 1 {
			t.Errorf("%s: samples differ from image/jpeg by up to %d", filepath.Base(f), maxd)
		}
	}
}

// TestIdctDCOnly: a DC-only block is flat, as in libjpeg's shortcut.
func TestIdctDCOnly(t *testing.T) {
	for _, dc := range []int32{-1024, -8, 0, 8, 100, 1016, 4000} {
		var b block
		b[0] = dc
		var out [blockSize]uint8
		idctIslow(&b, &out)
		want := rangeLimit[((int64(dc)<<pass1Bits)+16)>>5&1023]
		for _, v := range out {
			if v != want {
				t.Fatalf("dc %d: %d, want %d", dc, v, want)
			}
		}
	}
}
