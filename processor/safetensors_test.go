package processor

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"testing"
)

type stTensor struct {
	DType string
	Shape []int
	Data  []byte
}

// readST is a minimal safetensors reader for the goldens.
func readST(t testing.TB, path string) map[string]stTensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseST(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func parseST(b []byte) (map[string]stTensor, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("short file")
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("header length %d past the end", n)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		return nil, err
	}
	data := b[8+n:]
	out := map[string]stTensor{}
	for name, raw := range hdr {
		if name == "__metadata__" {
			continue
		}
		var ti struct {
			DType       string   `json:"dtype"`
			Shape       []int    `json:"shape"`
			DataOffsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &ti); err != nil {
			return nil, err
		}
		if ti.DataOffsets[0] < 0 || ti.DataOffsets[1] > int64(len(data)) || ti.DataOffsets[0] > ti.DataOffsets[1] {
			return nil, fmt.Errorf("%s: bad offsets %v", name, ti.DataOffsets)
		}
		out[name] = stTensor{ti.DType, ti.Shape, data[ti.DataOffsets[0]:ti.DataOffsets[1]]}
	}
	return out, nil
}

func (s stTensor) f32() []float32 {
	out := make([]float32, len(s.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(s.Data[i*4:]))
	}
	return out
}

// ints reads I64 or U8 tensors as int64.
func (s stTensor) ints() []int64 {
	switch s.DType {
	case "U8":
		out := make([]int64, len(s.Data))
		for i, v := range s.Data {
			out[i] = int64(v)
		}
		return out
	case "I64":
		out := make([]int64, len(s.Data)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(s.Data[i*8:]))
		}
		return out
	}
	panic("ints: dtype " + s.DType)
}

func names(m map[string]stTensor) []string {
	var n []string
	for k := range m {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func maxAbsDiff(a, b []float32) (float64, int) {
	d, at := 0.0, -1
	for i := range a {
		if v := math.Abs(float64(a[i]) - float64(b[i])); v > d || math.IsNaN(v) {
			d, at = v, i
		}
	}
	return d, at
}
