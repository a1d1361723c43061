package weights

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goldenDir is the shared golden data (../../shared/golden from this package).
func goldenDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join("..", "..", "shared", "golden")
	if _, err := os.Stat(filepath.Join(d, "models")); err != nil {
		t.Skipf("golden data not found at %s", d)
	}
	return d
}

func TestGoldenModelsLoad(t *testing.T) {
	models := filepath.Join(goldenDir(t), "models")
	ents, err := os.ReadDir(models)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			c, err := OpenDir(filepath.Join(models, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if len(c.Names()) < 30 {
				t.Fatalf("only %d tensors", len(c.Names()))
			}
			for _, name := range c.Names() {
				tt, err := c.Tensor(name)
				if err != nil {
					t.Fatal(err)
				}
				if tt.DType != F32 {
					t.Errorf("%s: dtype %v", name, tt.DType)
				}
				f, err := tt.Float32s()
				if err != nil {
					t.Fatal(err)
				}
				// The pread path (Float32s, ReadAt) and the mapped bytes agree.
				raw := tt.Bytes()
				for i, v := range f {
					if math.Float32bits(v) != binary.LittleEndian.Uint32(raw[4*i:]) {
						t.Fatalf("%s[%d]: Float32s %v differs from the mapped bytes", name, i, v)
					}
				}
				p := make([]byte, len(raw))
				if n, err := tt.ReadAt(p, 0); n != len(raw) || err != nil || !bytes.Equal(p, raw) {
					t.Fatalf("%s: ReadAt %d %v", name, n, err)
				}
			}
		})
	}
	if n != 7 {
		t.Errorf("found %d model folders, want 7", n)
	}
}

// The MLM .bin and the safetensors models have bit-identical backbones (README §1).
func TestMLMBinMatchesSafetensorsBackbone(t *testing.T) {
	models := filepath.Join(goldenDir(t), "models")
	bin, err := OpenPyTorch(filepath.Join(models, "tiny-vilt-p32-mlm", "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	st, err := OpenSafetensors(filepath.Join(models, "tiny-vilt-p32-model", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, name := range st.Names() {
		a, err := st.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bin.Tensor("vilt." + name)
		if err != nil {
			t.Errorf("bin lacks vilt.%s", name)
			continue
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) || a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) {
			t.Errorf("%s differs between model.safetensors and the MLM .bin", name)
		}
	}
	// The tied MLM bias: two names, one storage.
	b1, err1 := bin.Tensor("mlm_score.bias")
	b2, err2 := bin.Tensor("mlm_score.decoder.bias")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if &b1.Bytes()[0] != &b2.Bytes()[0] {
		t.Error("mlm_score.bias and mlm_score.decoder.bias do not share their storage")
	}
	for _, n := range bin.Names() {
		if !strings.HasPrefix(n, "vilt.") && !strings.HasPrefix(n, "mlm_score.") {
			t.Errorf("unexpected key %s", n)
		}
	}
}
