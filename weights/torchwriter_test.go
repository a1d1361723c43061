package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// A minimal torch.save writer for tests: the same zip layout and pickle opcodes that
// torch writes for a state dict (protocol 2, GLOBAL, BINPERSID, REDUCE).

type ptStorage struct {
	key   string
	dtype DType
	numel int
	fill  func(w io.Writer) error // writes numel·size bytes
}

type ptEntry struct {
	name, storage string
	offset        int
	size, stride  []int // stride nil: contiguous
}

var storageNames = map[DType]string{F32: "FloatStorage", F16: "HalfStorage", BF16: "BFloat16Storage", I64: "LongStorage", I32: "IntStorage", F64: "DoubleStorage"}

type pkl struct{ bytes.Buffer }

func (p *pkl) str(s string) {
	p.WriteByte('X')
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
}
func (p *pkl) int(n int) {
	p.WriteByte('J')
	binary.Write(p, binary.LittleEndian, int32(n))
}
func (p *pkl) global(mod, name string) { p.WriteString("c" + mod + "\n" + name + "\n") }
func (p *pkl) ints(v []int) {
	p.WriteByte('(')
	for _, n := range v {
		p.int(n)
	}
	p.WriteByte('t')
}

func contiguousStride(size []int) []int {
	st := make([]int, len(size))
	n := 1
	for i := len(size) - 1; i >= 0; i-- {
		st[i] = n
		n *= size[i]
	}
	return st
}

// statePickle builds data.pkl for the entries; ordered uses collections.OrderedDict.
func statePickle(storages []ptStorage, entries []ptEntry, ordered bool) []byte {
	var p pkl
	p.WriteString("\x80\x02")
	if ordered {
		p.global("collections", "OrderedDict")
		p.WriteString(")R")
	} else {
		p.WriteByte('}')
	}
	p.WriteByte('(')
	byKey := map[string]ptStorage{}
	for _, s := range storages {
		byKey[s.key] = s
	}
	for _, e := range entries {
		s := byKey[e.storage]
		p.str(e.name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.WriteByte('(')
		p.WriteByte('(')
		p.str("storage")
		p.global("torch", storageNames[s.dtype])
		p.str(s.key)
		p.str("cpu")
		p.int(s.numel)
		p.WriteString("tQ")
		p.int(e.offset)
		p.ints(e.size)
		stride := e.stride
		if stride == nil {
			stride = contiguousStride(e.size)
		}
		p.ints(stride)
		p.WriteByte(0x89) // requires_grad False
		p.global("collections", "OrderedDict")
		p.WriteString(")R") // backward_hooks
		p.WriteString("tR")
	}
	p.WriteString("u.")
	return p.Bytes()
}

// writeTorchZip writes a torch zip checkpoint with the given pickle (nil: statePickle).
func writeTorchZip(w io.Writer, storages []ptStorage, entries []ptEntry, pickle []byte) error {
	if pickle == nil {
		pickle = statePickle(storages, entries, false)
	}
	zw := zip.NewWriter(w)
	put := func(name string, fill func(io.Writer) error) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			return err
		}
		return fill(fw)
	}
	bytesOf := func(b []byte) func(io.Writer) error {
		return func(w io.Writer) error { _, err := w.Write(b); return err }
	}
	if err := put("archive/data.pkl", bytesOf(pickle)); err != nil {
		return err
	}
	if err := put("archive/byteorder", bytesOf([]byte("little"))); err != nil {
		return err
	}
	for _, s := range storages {
		if err := put("archive/data/"+s.key, s.fill); err != nil {
			return err
		}
	}
	if err := put("archive/version", bytesOf([]byte("3\n"))); err != nil {
		return err
	}
	return zw.Close()
}

func f32Fill(vals ...float32) func(io.Writer) error {
	return func(w io.Writer) error {
		return binary.Write(w, binary.LittleEndian, vals)
	}
}

func buildTorch(t testing.TB, storages []ptStorage, entries []ptEntry, pickle []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := writeTorchZip(&b, storages, entries, pickle); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func seq(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return v
}
