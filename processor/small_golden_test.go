package processor

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestSmallGoldens runs without ../shared: four synthetic sources from the
// golden set (RGB, L, P, 16-bit I) with the SHA-256 of HF's decoded and resized
// arrays.
func TestSmallGoldens(t *testing.T) {
	data, err := os.ReadFile("testdata/small_goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	type digest struct {
		Shape  []int  `json:"shape"`
		SHA256 string `json:"sha256"`
	}
	var g struct {
		Cases map[string]map[string]digest `json:"cases"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	p, _ := NewImageProcessor(DefaultImageOptions())
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	for name, tensors := range g.Cases {
		img := decodeFile(t, filepath.Join("testdata", name))
		if d, ok := tensors["decoded_u8"]; ok {
			if got := []int{img.Height, img.Width, 3}; !reflect.DeepEqual(got, d.Shape) || sum(img.Pix) != d.SHA256 {
				t.Errorf("%s: decoded %v differs from decoded_u8 %v", name, got, d.Shape)
			}
		}
		res, err := p.Resize(img)
		if err != nil {
			t.Fatal(err)
		}
		r := tensors["resized_u8"]
		if got := []int{res.Height, res.Width, 3}; !reflect.DeepEqual(got, r.Shape) || sum(res.Pix) != r.SHA256 {
			t.Errorf("%s: resized %v differs from resized_u8 %v", name, got, r.Shape)
		}
	}
}
