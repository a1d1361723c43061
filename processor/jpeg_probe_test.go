package processor

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestJPEGProbe(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(runtime.GOROOT(), "src/image/testdata/video-00*.jpeg"))
	files = append(files, "/work/shared/golden/images/rgb_333x500.jpg")
	for _, f := range files {
		ref, err := os.ReadFile("/tmp/jpegref/" + filepath.Base(f) + ".ref")
		if err != nil {
			t.Logf("%s: no ref", filepath.Base(f))
			continue
		}
		w, h, c := int(binary.LittleEndian.Uint32(ref)), int(binary.LittleEndian.Uint32(ref[4:])), int(binary.LittleEndian.Uint32(ref[8:]))
		px := ref[12:]
		if c == 1 {
			rgb := make([]byte, 0, len(px)*3)
			for _, v := range px {
				rgb = append(rgb, v, v, v)
			}
			px = rgb
		}
		data, _ := os.ReadFile(f)
		img, err := DecodeImageBytes(data, DecodeOptions{})
		if err != nil {
			t.Logf("%s: %v", filepath.Base(f), err)
			continue
		}
		if img.Width != w || img.Height != h || c == 4 {
			t.Logf("%s: %dx%d vs %dx%d c=%d", filepath.Base(f), img.Width, img.Height, w, h, c)
			continue
		}
		maxd, n, _ := jpegStats(img.Pix, px)
		t.Logf("%-50s c=%d: %6d of %6d differ, max %d", filepath.Base(f), c, n, len(img.Pix), maxd)
	}
}
