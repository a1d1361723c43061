package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rawSafetensors builds a file from a header string and a data area.
func rawSafetensors(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestSafetensorsRoundTrip(t *testing.T) {
	le := binary.LittleEndian
	mk := func(name string, d DType, shape []int, raw []byte) *Tensor {
		tt, err := NewTensor(name, d, shape, raw)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	f32 := make([]byte, 24)
	for i := range 6 {
		le.PutUint32(f32[4*i:], uint32(0x3f800000+i))
	}
	ts := []*Tensor{
		mk("z.f32", F32, []int{2, 3}, f32),
		mk("a.f16", F16, []int{2}, le.AppendUint16(le.AppendUint16(nil, 0x3c00), 0x4000)),
		mk("b.bf16", BF16, []int{1, 1}, le.AppendUint16(nil, 0xbf80)),
		mk("c.i64", I64, []int{}, le.AppendUint64(nil, 5)),
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	s, err := ParseSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Names(), []string{"a.f16", "b.bf16", "c.i64", "z.f32"}) || s.Metadata()["format"] != "pt" {
		t.Errorf("names %v metadata %v", s.Names(), s.Metadata())
	}
	want := map[string][]float32{"a.f16": {1, 2}, "b.bf16": {-1}, "c.i64": {5}}
	for n, w := range want {
		tt, _ := s.Tensor(n)
		got, err := tt.Float32s()
		if err != nil || !slices.Equal(got, w) {
			t.Errorf("%s: %v %v", n, got, err)
		}
		checkStreams(t, tt)
	}
	z, _ := s.Tensor("z.f32")
	if !bytes.Equal(z.Bytes(), f32) || !slices.Equal(z.Shape, []int{2, 3}) {
		t.Error("F32 tensor changed")
	}
}

func TestSafetensorsBadInput(t *testing.T) {
	d8 := make([]byte, 8)
	cases := []struct {
		name string
		data []byte
		has  string
	}{
		{"empty", nil, "truncated"},
		{"short", []byte{1, 2, 3}, "truncated"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 100), "header"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<62), "header"},
		{"not json", rawSafetensors(`{"a": `, nil), "invalid"},
		{"json list", rawSafetensors(`[1,2]`, nil), "invalid"},
		{"unknown dtype", rawSafetensors(`{"a":{"dtype":"F8","shape":[2],"data_offsets":[0,8]}}`, d8), "F8"},
		{"shape vs bytes", rawSafetensors(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, d8), "mismatch"},
		{"offsets out of range", rawSafetensors(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, d8), "incomplete"},
		{"overlap", rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), "offset"},
		{"gap", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), "offset"},
		{"reversed", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, d8), "offset"},
		{"trailing bytes", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, d8), "incomplete"},
		{"negative dim", rawSafetensors(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, d8[:4]), "shape"},
		{"huge dims", rawSafetensors(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}`, d8[:4]), ""},
		{"missing key", rawSafetensors(`{"a":{"dtype":"F32","shape":[1]}}`, d8[:4]), "keys"},
		{"metadata not string", rawSafetensors(`{"__metadata__":{"a":1}}`, nil), "metadata"},
	}
	for _, c := range cases {
		_, err := ParseSafetensors(c.data)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrDType) || !strings.Contains(err.Error(), c.has) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Truncated golden file, through the file path.
	dir := t.TempDir()
	src := filepath.Join(goldenDirOrEmpty(), "models", "tiny-vilt-p32-model", "model.safetensors")
	if b, err := os.ReadFile(src); err == nil {
		p := filepath.Join(dir, "model.safetensors")
		os.WriteFile(p, b[:len(b)-100], 0o644)
		if _, err := OpenSafetensors(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("truncated golden: %v", err)
		}
	}
}

func goldenDirOrEmpty() string { return filepath.Join("..", "..", "shared", "golden") }

func TestSharded(t *testing.T) {
	dir := t.TempDir()
	le := binary.LittleEndian
	write := func(name string, ts ...*Tensor) {
		var b bytes.Buffer
		if err := WriteSafetensors(&b, ts, nil); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644)
	}
	t1, _ := NewTensor("a", F32, []int{1}, le.AppendUint32(nil, 0x3f800000))
	t2, _ := NewTensor("b", F32, []int{1}, le.AppendUint32(nil, 0x40000000))
	write("model-00001-of-00002.safetensors", t1)
	write("model-00002-of-00002.safetensors", t2)
	os.WriteFile(filepath.Join(dir, SafetensorsIndexFile), []byte(`{"metadata":{"total_size":8},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`), 0o644)
	// A .bin shard set next to it (OpenDir prefers the safetensors index).
	os.WriteFile(filepath.Join(dir, "pytorch_model-00001-of-00001.bin"), buildTorch(t, []ptStorage{{key: "0", dtype: F32, numel: 1, fill: f32Fill(3)}}, []ptEntry{{name: "c", storage: "0", size: []int{1}}}, nil), 0o644)
	os.WriteFile(filepath.Join(dir, PyTorchIndexFile), []byte(`{"weight_map":{"c":"pytorch_model-00001-of-00001.bin"}}`), 0o644)
	if pc, err := Open(filepath.Join(dir, PyTorchIndexFile)); err != nil {
		t.Error(err)
	} else {
		c, err := pc.Tensor("c")
		if f, _ := c.Float32s(); err != nil || f[0] != 3 {
			t.Errorf("c = %v %v", f, err)
		}
		pc.Close()
	}
	c, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Names(), []string{"a", "b"}) {
		t.Errorf("names %v", c.Names())
	}
	b, err := c.Tensor("b")
	if f, _ := b.Float32s(); err != nil || f[0] != 2 {
		t.Errorf("b = %v %v", f, err)
	}
	c.Close()

	bad := map[string]string{
		"escape":       `{"weight_map":{"a":"../x.safetensors"}}`,
		"wrong shard":  `{"weight_map":{"a":"model-00002-of-00002.safetensors"}}`,
		"missing file": `{"weight_map":{"a":"nope.safetensors"}}`,
		"empty":        `{"weight_map":{}}`,
		"not json":     `{`,
	}
	for name, js := range bad {
		p := filepath.Join(dir, "x.index.json")
		os.WriteFile(p, []byte(js), 0o644)
		if _, err := Open(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
