package weights

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// PyTorch is a checkpoint written by torch.save in its zip format (PyTorch >= 1.6),
// e.g. a Hugging Face pytorch_model.bin. The zip is memory-mapped; stored (uncompressed)
// entries, which is what torch writes, are used in place.
type PyTorch struct {
	path    string
	file    *os.File
	data    []byte // the whole file, mapped
	tensors map[string]*Tensor
	names   []string
}

// allowedGlobals is everything a state-dict pickle may name. collections.OrderedDict is
// resolved by gopickle itself (to an inert Go type). Nothing is ever imported or run.
var allowedGlobals = map[string]any{
	"torch._utils._rebuild_tensor_v2": rebuildTensor{},
	"torch._utils._rebuild_parameter": rebuildParameter{},
	"torch.FloatStorage":              storageClass{F32},
	"torch.HalfStorage":               storageClass{F16},
	"torch.BFloat16Storage":           storageClass{BF16},
	"torch.LongStorage":               storageClass{I64},
	"torch.IntStorage":                storageClass{I32},
}

// maxPickleSize bounds data.pkl (a state dict's pickle is ~100 bytes per tensor).
const maxPickleSize = 256 << 20

type storageClass struct{ dtype DType }

// storageRef is what the pickle's persistent ids resolve to: one zip entry.
type storageRef struct {
	dtype DType
	key   string
	numel int
}

// tensorRef is a view of a storage, as torch._utils._rebuild_tensor_v2 describes it.
type tensorRef struct {
	storage *storageRef
	offset  int
	size    []int
	stride  []int
}

type rebuildTensor struct{}

// Call receives (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments, want at least 4", len(args))
	}
	st, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: argument 0 is %T, not a storage", args[0])
	}
	off, ok := toInt(args[1])
	if !ok || off < 0 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: bad storage offset %v", args[1])
	}
	size, ok := toInts(args[2])
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: bad size %v", args[2])
	}
	stride, ok := toInts(args[3])
	if !ok || len(stride) != len(size) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: bad stride %v for size %v", args[3], size)
	}
	return &tensorRef{storage: st, offset: off, size: size, stride: stride}, nil
}

type rebuildParameter struct{}

// Call receives (data, requires_grad, backward_hooks): a Parameter is its tensor.
func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_rebuild_parameter: no arguments")
	}
	t, ok := args[0].(*tensorRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter: argument is %T, not a tensor", args[0])
	}
	return t, nil
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case *big.Int:
		if x.IsInt64() {
			return int(x.Int64()), true
		}
	}
	return 0, false
}

func toInts(v any) ([]int, bool) {
	var items []any
	switch x := v.(type) {
	case *types.Tuple:
		items = *x
	case *types.List:
		items = *x
	default:
		return nil, false
	}
	out := make([]int, len(items))
	for i, it := range items {
		n, ok := toInt(it)
		if !ok || n < 0 {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// OpenPyTorch opens a torch zip checkpoint. The pickle may only name the allow-listed
// globals; anything else is refused (ErrUnsafePickle) with its name.
func OpenPyTorch(path string) (*PyTorch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open pytorch checkpoint: %w", err)
	}
	data, err := mapFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open pytorch checkpoint %s: %w", path, err)
	}
	// The zip structures are read with pread: touching them through the map would
	// fault in whole page-cache folios (tens of MB) for a few header bytes.
	p, err := parsePyTorch(f, data)
	if err != nil {
		unmap(data)
		f.Close()
		return nil, fmt.Errorf("open pytorch checkpoint %s: %w", path, err)
	}
	p.path, p.data, p.file = path, data, f
	for _, t := range p.tensors {
		if t.fileOff > 0 {
			t.file = f
		}
	}
	return p, nil
}

// ParsePyTorch reads a torch zip checkpoint already in memory. Stored entries alias buf.
func ParsePyTorch(buf []byte) (*PyTorch, error) {
	return parsePyTorch(bytes.NewReader(buf), buf)
}

// parsePyTorch reads the zip structure and small entries from ra and slices stored
// storages out of buf (the same bytes, mapped).
func parsePyTorch(ra io.ReaderAt, buf []byte) (p *PyTorch, err error) {
	defer func() {
		if r := recover(); r != nil { // gopickle and archive/zip are third-party
			p, err = nil, fmt.Errorf("%w: malformed pickle: %v", ErrFormat, r)
		}
	}()
	zr, err := zip.NewReader(ra, int64(len(buf)))
	if err != nil {
		if isLegacyTorch(buf) {
			return nil, ErrLegacyTorch
		}
		return nil, fmt.Errorf("%w: not a torch zip checkpoint: %v", ErrFormat, err)
	}
	entries := map[string]*zip.File{}
	var pkl *zip.File
	for _, f := range zr.File {
		entries[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && (pkl == nil || len(f.Name) < len(pkl.Name)) {
			pkl = f
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("%w: zip has no data.pkl (not a torch.save file)", ErrFormat)
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if _, ok := entries[prefix+"constants.pkl"]; ok {
		return nil, fmt.Errorf("%w: a TorchScript archive, not a state dict", ErrFormat)
	}
	if bo, ok := entries[prefix+"byteorder"]; ok {
		b, _, err := readEntry(nil, bo, 16)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, fmt.Errorf("%w: byte order %q (only little-endian is supported)", ErrFormat, s)
		}
	}
	pdata, _, err := readEntry(nil, pkl, maxPickleSize)
	if err != nil {
		return nil, err
	}
	if err := scanPickle(pdata); err != nil {
		return nil, err
	}
	u := pickle.NewUnpickler(bytes.NewReader(pdata))
	u.FindClass = func(module, name string) (any, error) {
		if g, ok := allowedGlobals[module+"."+name]; ok {
			return g, nil
		}
		return nil, fmt.Errorf("%w: %s.%s", ErrUnsafePickle, module, name)
	}
	u.PersistentLoad = func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() < 5 {
			return nil, fmt.Errorf("persistent id %v: want ('storage', type, key, location, numel)", id)
		}
		kind, _ := t.Get(0).(string)
		cls, ok1 := t.Get(1).(storageClass)
		key, ok2 := t.Get(2).(string)
		numel, ok3 := toInt(t.Get(4))
		if kind != "storage" || !ok1 || !ok2 || !ok3 || numel < 0 {
			return nil, fmt.Errorf("persistent id %v: want ('storage', type, key, location, numel)", id)
		}
		return &storageRef{dtype: cls.dtype, key: key, numel: numel}, nil
	}
	obj, err := u.Load()
	if err != nil {
		return nil, fmt.Errorf("%w: unpickle data.pkl: %w", ErrFormat, err)
	}
	refs, err := stateDictEntries(obj)
	if err != nil {
		return nil, err
	}
	p = &PyTorch{tensors: map[string]*Tensor{}}
	storages := map[string]storageBytes{}
	for _, e := range refs {
		st := e.ref.storage
		sdata, ok := storages[st.key]
		if !ok {
			f, ok := entries[prefix+"data/"+st.key]
			if !ok {
				return nil, fmt.Errorf("tensor %s: %w: storage %q has no zip entry %sdata/%s", e.name, ErrFormat, st.key, prefix, st.key)
			}
			if st.numel > math.MaxInt/8 {
				return nil, fmt.Errorf("tensor %s: %w: storage of %d elements", e.name, ErrFormat, st.numel)
			}
			want := st.numel * st.dtype.Size()
			if f.UncompressedSize64 != uint64(want) {
				return nil, fmt.Errorf("tensor %s: %w: storage %q holds %d bytes, %d %v elements need %d", e.name, ErrFormat, st.key, f.UncompressedSize64, st.numel, st.dtype, want)
			}
			sdata.data, sdata.off, err = readEntry(buf, f, want)
			if err != nil {
				return nil, fmt.Errorf("tensor %s: %w", e.name, err)
			}
			storages[st.key] = sdata
		}
		t, err := viewTensor(e.name, e.ref, sdata)
		if err != nil {
			return nil, err
		}
		p.tensors[e.name] = t
	}
	p.names = sortedKeys(p.tensors)
	return p, nil
}

// storageBytes is a storage's bytes and, for a stored zip entry, their offset in the file.
type storageBytes struct {
	data []byte
	off  int64 // 0: not in the file (decompressed)
}

type namedRef struct {
	name string
	ref  *tensorRef
}

// stateDictEntries accepts a dict or OrderedDict of name → tensor.
func stateDictEntries(obj any) ([]namedRef, error) {
	var out []namedRef
	add := func(k, v any) error {
		name, ok := k.(string)
		if !ok {
			return fmt.Errorf("%w: state dict key %v is %T, not a string", ErrFormat, k, k)
		}
		ref, ok := v.(*tensorRef)
		if !ok {
			return fmt.Errorf("%w: state dict entry %q is %T, not a tensor", ErrFormat, name, v)
		}
		out = append(out, namedRef{name, ref})
		return nil
	}
	switch d := obj.(type) {
	case *types.Dict:
		for _, e := range *d {
			if err := add(e.Key, e.Value); err != nil {
				return nil, err
			}
		}
	case *types.OrderedDict:
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			if err := add(e.Key, e.Value); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("%w: top-level object is %T, not a state dict", ErrFormat, obj)
	}
	return out, nil
}

// viewTensor applies a (storage offset, size, stride) view to storage bytes. A
// contiguous view is a sub-slice; any other is gathered into a new buffer.
func viewTensor(name string, r *tensorRef, sb storageBytes) (*Tensor, error) {
	storage := sb.data
	es := r.storage.dtype.Size()
	numel, ok := numElements(r.size)
	if !ok {
		return nil, fmt.Errorf("tensor %s: %w: bad size %v", name, ErrFormat, r.size)
	}
	if numel == 0 {
		return NewTensor(name, r.storage.dtype, r.size, nil)
	}
	// Highest element index the view touches.
	last := r.offset
	contiguous := true
	expect := 1
	for i := len(r.size) - 1; i >= 0; i-- {
		if r.size[i] > 1 && r.stride[i] > math.MaxInt/8/r.size[i] {
			return nil, fmt.Errorf("tensor %s: %w: stride %v overflows", name, ErrFormat, r.stride)
		}
		last += (r.size[i] - 1) * r.stride[i]
		if r.size[i] != 1 && r.stride[i] != expect {
			contiguous = false
		}
		expect *= r.size[i]
	}
	if last >= r.storage.numel || last < 0 {
		return nil, fmt.Errorf("tensor %s: %w: view (offset %d, size %v, stride %v) reaches element %d of a %d-element storage", name, ErrFormat, r.offset, r.size, r.stride, last, r.storage.numel)
	}
	if numel > r.storage.numel && numel*es > 64<<20 {
		return nil, fmt.Errorf("tensor %s: %w: view of %d elements repeats a %d-element storage", name, ErrFormat, numel, r.storage.numel)
	}
	if contiguous {
		lo := r.offset * es
		hi := lo + numel*es
		t, err := NewTensor(name, r.storage.dtype, r.size, storage[lo:hi:hi])
		if err == nil && sb.off > 0 {
			t.fileOff = sb.off + int64(lo)
		}
		return t, err
	}
	out := make([]byte, 0, numel*es)
	idx := make([]int, len(r.size))
	for n := 0; n < numel; n++ {
		off := r.offset
		for i, v := range idx {
			off += v * r.stride[i]
		}
		out = append(out, storage[off*es:(off+1)*es]...)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < r.size[i] {
				break
			}
			idx[i] = 0
		}
	}
	return NewTensor(name, r.storage.dtype, r.size, out)
}

// readEntry returns the bytes of a zip entry: a sub-slice of buf for a stored entry,
// else (or when buf is nil) the entry read through the zip reader (offset 0). It
// refuses entries larger than max.
func readEntry(buf []byte, f *zip.File, max int) ([]byte, int64, error) {
	if f.UncompressedSize64 > uint64(max) {
		return nil, 0, fmt.Errorf("%w: zip entry %s is %d bytes, more than %d", ErrFormat, f.Name, f.UncompressedSize64, max)
	}
	size := int(f.UncompressedSize64)
	if f.Method == zip.Store && buf != nil {
		off, err := f.DataOffset()
		if err != nil {
			return nil, 0, fmt.Errorf("%w: zip entry %s: %v", ErrFormat, f.Name, err)
		}
		if off < 0 || off > int64(len(buf)) || int64(size) > int64(len(buf))-off || f.CompressedSize64 != f.UncompressedSize64 {
			return nil, 0, fmt.Errorf("%w: zip entry %s runs past the end of the file (truncated?)", ErrFormat, f.Name)
		}
		return buf[off : off+int64(size) : off+int64(size)], off, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, 0, fmt.Errorf("%w: zip entry %s: %v", ErrFormat, f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(size)+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: zip entry %s: %v", ErrFormat, f.Name, err)
	}
	if len(b) != size {
		return nil, 0, fmt.Errorf("%w: zip entry %s has %d bytes, header says %d", ErrFormat, f.Name, len(b), size)
	}
	return b, 0, nil
}

// isLegacyTorch recognises torch.save's pre-1.6 format: a pickled magic number
// 0x1950a86a20f9469cfc6c (protocol 2, LONG1), or the older tar container.
func isLegacyTorch(b []byte) bool {
	magic := []byte{0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}
	if len(b) > 2 && b[0] == 0x80 && bytes.Contains(b[:min(len(b), 64)], magic) {
		return true
	}
	return len(b) > 262 && string(b[257:262]) == "ustar"
}

// Names lists the tensor names, sorted.
func (p *PyTorch) Names() []string { return p.names }

// Tensor returns the named tensor.
func (p *PyTorch) Tensor(name string) (*Tensor, error) {
	t, ok := p.tensors[name]
	if !ok {
		return nil, fmt.Errorf("tensor %q in %s: %w", name, p.path, ErrNotFound)
	}
	return t, nil
}

// Close unmaps the file; tensors from it must not be used afterwards.
func (p *PyTorch) Close() error {
	d, f := p.data, p.file
	p.data, p.file = nil, nil
	var err error
	if f != nil {
		err = f.Close()
	}
	return errors.Join(unmap(d), err)
}
