package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPyTorchViews(t *testing.T) {
	le := binary.LittleEndian
	storages := []ptStorage{
		{key: "0", dtype: F32, numel: 12, fill: f32Fill(seq(12)...)},
		{key: "1", dtype: F16, numel: 2, fill: func(w io.Writer) error {
			return binary.Write(w, le, []uint16{0x3c00, 0xc000})
		}},
		{key: "2", dtype: BF16, numel: 1, fill: func(w io.Writer) error { return binary.Write(w, le, []uint16{0x4040}) }},
		{key: "3", dtype: I64, numel: 3, fill: func(w io.Writer) error { return binary.Write(w, le, []int64{0, 1, -2}) }},
		{key: "4", dtype: I32, numel: 1, fill: func(w io.Writer) error { return binary.Write(w, le, []int32{-7}) }},
	}
	entries := []ptEntry{
		{name: "full", storage: "0", size: []int{3, 4}},
		{name: "shared", storage: "0", size: []int{3, 4}},                                    // same storage, two names
		{name: "offset", storage: "0", offset: 4, size: []int{2, 4}},                         // rows 1..2
		{name: "transposed", storage: "0", size: []int{4, 3}, stride: []int{1, 4}},           // non-contiguous
		{name: "column", storage: "0", offset: 2, size: []int{3}, stride: []int{4}},          // strided
		{name: "broadcast", storage: "0", offset: 5, size: []int{2, 2}, stride: []int{0, 1}}, // zero stride
		{name: "scalar", storage: "0", offset: 11, size: []int{}},
		{name: "empty", storage: "0", size: []int{0, 4}},
		{name: "half", storage: "1", size: []int{2}},
		{name: "bf16", storage: "2", size: []int{1}},
		{name: "long", storage: "3", size: []int{3}},
		{name: "int", storage: "4", size: []int{1}},
	}
	want := map[string][]float32{
		"full": seq(12), "shared": seq(12), "offset": seq(12)[4:12],
		"transposed": {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, "column": {2, 6, 10},
		"broadcast": {5, 6, 5, 6}, "scalar": {11}, "empty": {}, "half": {1, -2}, "bf16": {3},
		"long": {0, 1, -2}, "int": {-7},
	}
	for _, ordered := range []bool{false, true} {
		p, err := ParsePyTorch(buildTorch(t, storages, entries, statePickle(storages, entries, ordered)))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Names()) != len(entries) {
			t.Errorf("names %v", p.Names())
		}
		for name, w := range want {
			tt, err := p.Tensor(name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tt.Float32s()
			if err != nil || !slices.Equal(got, w) {
				t.Errorf("%s: %v (%v), want %v", name, got, err, w)
			}
			checkStreams(t, tt)
		}
		a, _ := p.Tensor("full")
		b, _ := p.Tensor("shared")
		if &a.Bytes()[0] != &b.Bytes()[0] {
			t.Error("shared storage was copied")
		}
		if _, err := p.Tensor("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing tensor: %v", err)
		}
		l, _ := p.Tensor("long")
		if v, err := l.Int64s(); err != nil || !slices.Equal(v, []int64{0, 1, -2}) {
			t.Errorf("Int64s %v %v", v, err)
		}
	}
}

func TestPyTorchBadInput(t *testing.T) {
	good := []ptStorage{{key: "0", dtype: F32, numel: 4, fill: f32Fill(1, 2, 3, 4)}}
	goodEntries := []ptEntry{{name: "w", storage: "0", size: []int{2, 2}}}
	valid := buildTorch(t, good, goodEntries, nil)

	evil := func(mod, name string) []byte {
		var p pkl
		p.WriteString("\x80\x02")
		p.global(mod, name)
		p.WriteString("(X\x02\x00\x00\x00lstR.")
		return p.Bytes()
	}
	stackGlobal := []byte("\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94.")
	var zipNoPkl bytes.Buffer
	{
		var b bytes.Buffer
		writeTorchZip(&b, good, goodEntries, nil)
		s := strings.Replace(b.String(), "archive/data.pkl", "archive/other.pk", -1)
		zipNoPkl.WriteString(s)
	}
	cases := []struct {
		name string
		data []byte
		is   error
		has  string
	}{
		{"empty", nil, ErrFormat, "not a torch zip"},
		{"truncated", valid[:len(valid)/2], ErrFormat, ""},
		{"truncated golden-like", valid[:len(valid)-30], ErrFormat, ""},
		{"legacy", append([]byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'}, make([]byte, 100)...), ErrLegacyTorch, "legacy"},
		{"no data.pkl", zipNoPkl.Bytes(), ErrFormat, "no data.pkl"},
		{"os.system", buildTorch(t, good, goodEntries, evil("os", "system")), ErrUnsafePickle, "os.system"},
		{"builtins.eval", buildTorch(t, good, goodEntries, evil("builtins", "eval")), ErrUnsafePickle, "builtins.eval"},
		{"__builtin__.object", buildTorch(t, good, goodEntries, evil("__builtin__", "object")), ErrUnsafePickle, "__builtin__"},
		{"copy_reg", buildTorch(t, good, goodEntries, evil("copy_reg", "_reconstructor")), ErrUnsafePickle, "copy_reg"},
		{"stack global", buildTorch(t, good, goodEntries, stackGlobal), ErrUnsafePickle, "os.system"},
		{"double storage", buildTorch(t, []ptStorage{{key: "0", dtype: F64, numel: 1, fill: f32Fill(1, 2)}}, []ptEntry{{name: "d", storage: "0", size: []int{1}}}, nil), ErrUnsafePickle, "torch.DoubleStorage"},
		{"view past storage", buildTorch(t, good, []ptEntry{{name: "w", storage: "0", offset: 1, size: []int{2, 2}}}, nil), ErrFormat, "reaches element 4"},
		{"storage size", buildTorch(t, []ptStorage{{key: "0", dtype: F32, numel: 5, fill: f32Fill(1, 2, 3, 4)}}, goodEntries, nil), ErrFormat, "holds 16 bytes"},
		{"missing storage", buildTorch(t, good, goodEntries, statePickle([]ptStorage{{key: "9", dtype: F32, numel: 4}}, []ptEntry{{name: "w", storage: "9", size: []int{2, 2}}}, false)), ErrFormat, "no zip entry"},
		{"not a dict", buildTorch(t, good, goodEntries, []byte("\x80\x02]q\x00.")), ErrFormat, "not a state dict"},
		{"not a tensor", buildTorch(t, good, goodEntries, []byte("\x80\x02}X\x01\x00\x00\x00aK\x01s.")), ErrFormat, "not a tensor"},
		{"pickle truncated", buildTorch(t, good, goodEntries, []byte("\x80\x02}X\xff\x00\x00\x00ab")), ErrFormat, "truncated"},
		{"huge length", buildTorch(t, good, goodEntries, []byte("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f.")), ErrFormat, "truncated"},
		{"huge frame", buildTorch(t, good, goodEntries, []byte("\x80\x04\x95\xff\xff\xff\xff\xff\x00\x00\x00}.")), ErrFormat, "truncated"},
		{"bad opcode", buildTorch(t, good, goodEntries, []byte("\x80\x02\xff.")), ErrFormat, "opcode"},
		{"no stop", buildTorch(t, good, goodEntries, []byte("\x80\x02}")), ErrFormat, "STOP"},
		{"empty stack", buildTorch(t, good, goodEntries, []byte("\x80\x02t.")), ErrFormat, ""},
	}
	for _, c := range cases {
		_, err := ParsePyTorch(c.data)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.has) {
			t.Errorf("%s: error %q, want %v containing %q", c.name, err, c.is, c.has)
		}
	}
}

func TestOpenPyTorchFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pytorch_model.bin")
	storages := []ptStorage{{key: "0", dtype: F32, numel: 4, fill: f32Fill(1, 2, 3, 4)}}
	if err := os.WriteFile(p, buildTorch(t, storages, []ptEntry{{name: "w", storage: "0", size: []int{4}}}, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, _ := TotalParams(c); n != 4 {
		t.Errorf("TotalParams = %d", n)
	}
	legacy := filepath.Join(dir, "old.bin")
	os.WriteFile(legacy, []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e}, 0o644)
	if _, err := Open(legacy); !errors.Is(err, ErrLegacyTorch) || !strings.Contains(err.Error(), "old.bin") {
		t.Errorf("legacy: %v", err)
	}
}
