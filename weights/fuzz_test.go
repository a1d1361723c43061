package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// exercise reads every tensor of a checkpoint the way a loader would.
func exercise(t *testing.T, c Checkpoint) {
	for _, n := range c.Names() {
		tt, err := c.Tensor(n)
		if err != nil {
			t.Fatalf("listed tensor %q: %v", n, err)
		}
		if len(tt.Bytes()) != tt.NumElements()*tt.DType.Size() {
			t.Fatalf("%s: %d bytes for %v %v", n, len(tt.Bytes()), tt.DType, tt.Shape)
		}
		if f, err := tt.Float32s(); err == nil {
			if w, err := tt.WriteTo(io.Discard); err != nil || w != int64(4*len(f)) {
				t.Fatalf("%s: WriteTo %d, %v", n, w, err)
			}
			p := make([]byte, 7)
			if k, err := tt.ReadAt(p, int64(len(f)*2+1)); len(f) > 0 && (k == 0 || err != nil && err != io.EOF) {
				t.Fatalf("%s: ReadAt %d, %v", n, k, err)
			}
		}
	}
}

func FuzzSafetensors(f *testing.F) {
	le := binary.LittleEndian
	var b bytes.Buffer
	t1, _ := NewTensor("a", F16, []int{2}, le.AppendUint16(le.AppendUint16(nil, 0x3c00), 0x4000))
	t2, _ := NewTensor("b", BF16, []int{1, 1}, le.AppendUint16(nil, 0xbf80))
	t3, _ := NewTensor("c", I64, []int{}, le.AppendUint64(nil, 5))
	t4, _ := NewTensor("d", F32, []int{2, 0}, nil)
	WriteSafetensors(&b, []*Tensor{t1, t2, t3, t4}, map[string]string{"format": "pt"})
	f.Add(b.Bytes())
	f.Add(rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)))
	// Goldens: small output files, and the header of a tiny model.
	g := goldenDirOrEmpty()
	for _, p := range []string{
		"io/outputs__tiny-vilt-p32-vqa__case4_processor_cats384.safetensors",
		"io/outputs__tiny-vilt-p32-retrieval__case1_single.safetensors",
	} {
		if data, err := os.ReadFile(filepath.Join(g, p)); err == nil {
			f.Add(data)
		}
	}
	if data, err := os.ReadFile(filepath.Join(g, "models/tiny-vilt-p32-model/model.safetensors")); err == nil {
		n := binary.LittleEndian.Uint64(data)
		f.Add(data[:8+n])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSafetensors(data)
		if err != nil {
			return
		}
		exercise(t, s)
	})
}

func FuzzPyTorch(f *testing.F) {
	storages := []ptStorage{
		{key: "0", dtype: F32, numel: 6, fill: f32Fill(seq(6)...)},
		{key: "1", dtype: F16, numel: 2, fill: func(w io.Writer) error { _, err := w.Write([]byte{0, 0x3c, 0, 0xc0}); return err }},
		{key: "2", dtype: I64, numel: 1, fill: func(w io.Writer) error { _, err := w.Write(make([]byte, 8)); return err }},
	}
	entries := []ptEntry{
		{name: "a", storage: "0", size: []int{2, 3}},
		{name: "a.T", storage: "0", size: []int{3, 2}, stride: []int{1, 3}},
		{name: "tail", storage: "0", offset: 3, size: []int{3}},
		{name: "h", storage: "1", size: []int{2}},
		{name: "position_ids", storage: "2", size: []int{1, 1}},
	}
	f.Add(buildTorch(f, storages, entries, nil))
	f.Add(buildTorch(f, storages, entries, statePickle(storages, entries, true)))
	// The golden MLM pickle, with its storages left empty (the pickle path in full).
	if pk, err := goldenPickle(); err == nil {
		f.Add(buildTorch(f, nil, nil, pk))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePyTorch(data)
		if err != nil {
			return
		}
		exercise(t, p)
	})
}

// FuzzTorchPickle mutates data.pkl alone, inside a well-formed zip whose storages
// "0".."2" exist, so the mutations reach the unpickler instead of the zip reader.
func FuzzTorchPickle(f *testing.F) {
	storages := []ptStorage{
		{key: "0", dtype: F32, numel: 6, fill: f32Fill(seq(6)...)},
		{key: "1", dtype: F16, numel: 2, fill: func(w io.Writer) error { _, err := w.Write([]byte{0, 0x3c, 0, 0xc0}); return err }},
		{key: "2", dtype: I64, numel: 1, fill: func(w io.Writer) error { _, err := w.Write(make([]byte, 8)); return err }},
	}
	entries := []ptEntry{
		{name: "a", storage: "0", size: []int{2, 3}},
		{name: "b", storage: "0", size: []int{3, 2}, stride: []int{1, 3}},
		{name: "h", storage: "1", size: []int{2}},
		{name: "i", storage: "2", size: []int{}},
	}
	f.Add(statePickle(storages, entries, false))
	f.Add(statePickle(storages, entries, true))
	if pk, err := goldenPickle(); err == nil {
		f.Add(pk)
	}
	f.Fuzz(func(t *testing.T, pk []byte) {
		var b bytes.Buffer
		if err := writeTorchZip(&b, storages, nil, pk); err != nil {
			t.Fatal(err)
		}
		p, err := ParsePyTorch(b.Bytes())
		if err != nil {
			return
		}
		exercise(t, p)
	})
}

func goldenPickle() ([]byte, error) {
	zr, err := zip.OpenReader(filepath.Join(goldenDirOrEmpty(), "models/tiny-vilt-p32-mlm/pytorch_model.bin"))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if filepath.Base(zf.Name) == "data.pkl" {
			rc, err := zf.Open()
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return io.ReadAll(rc)
		}
	}
	return nil, os.ErrNotExist
}
