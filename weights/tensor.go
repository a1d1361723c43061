package weights

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
)

// Tensor is one named tensor of a checkpoint: a view of its stored bytes (often part of
// a memory-mapped file, valid until the checkpoint is closed) or a generator of float32
// values (Synthetic). Elements are contiguous, row-major, little-endian.
type Tensor struct {
	Name  string
	DType DType // the stored element type; WriteTo and Float32s convert to float32
	Shape []int

	data []byte                         // stored bytes, len = NumElements·DType.Size()
	gen  func(dst []float32, start int) // fills dst with elements start, start+1, ...
}

// NewTensor wraps stored bytes (not copied) as a tensor, checking that the byte count
// matches the shape.
func NewTensor(name string, dtype DType, shape []int, data []byte) (*Tensor, error) {
	if dtype.Size() == 0 {
		return nil, fmt.Errorf("tensor %s: %w: %v", name, ErrDType, dtype)
	}
	n, ok := numElements(shape)
	if !ok {
		return nil, fmt.Errorf("tensor %s: %w: invalid shape %v", name, ErrFormat, shape)
	}
	if want := n * dtype.Size(); n > math.MaxInt/dtype.Size() || len(data) != want {
		return nil, fmt.Errorf("tensor %s: %w: shape %v of %v needs %d bytes, have %d", name, ErrFormat, shape, dtype, n*dtype.Size(), len(data))
	}
	return &Tensor{Name: name, DType: dtype, Shape: slices.Clone(shape), data: data}, nil
}

// GeneratedTensor is an F32 tensor whose values are computed on demand by gen, which
// fills dst with the elements starting at flat index start. Nothing is held in memory.
func GeneratedTensor(name string, shape []int, gen func(dst []float32, start int)) (*Tensor, error) {
	if _, ok := numElements(shape); !ok {
		return nil, fmt.Errorf("tensor %s: %w: invalid shape %v", name, ErrFormat, shape)
	}
	return &Tensor{Name: name, DType: F32, Shape: slices.Clone(shape), gen: gen}, nil
}

// numElements is the product of the dimensions (1 for a scalar); false on a negative
// dimension or overflow.
func numElements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt/8/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// NumElements is the number of elements (1 for a scalar).
func (t *Tensor) NumElements() int {
	n, _ := numElements(t.Shape)
	return n
}

// F32Size is the number of bytes WriteTo writes.
func (t *Tensor) F32Size() int64 { return int64(t.NumElements()) * 4 }

// Bytes returns the stored bytes in t.DType without copying (for a generated tensor,
// a fresh F32 buffer). The slice may alias a read-only memory map: do not modify it, and
// do not use it after the checkpoint is closed.
func (t *Tensor) Bytes() []byte {
	if t.gen == nil {
		return t.data
	}
	f := make([]float32, t.NumElements())
	t.gen(f, 0)
	b := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// Float32s returns the values converted to float32 (F16, BF16, F64 and the integer
// types are converted; F32 is copied).
func (t *Tensor) Float32s() ([]float32, error) {
	out := make([]float32, t.NumElements())
	if t.gen != nil {
		t.gen(out, 0)
		return out, nil
	}
	if !decodeF32(out, t.data, t.DType) {
		return nil, fmt.Errorf("tensor %s: %w: cannot convert %v to F32", t.Name, ErrDType, t.DType)
	}
	return out, nil
}

// Int64s returns the values of an integer tensor as int64.
func (t *Tensor) Int64s() ([]int64, error) {
	le := binary.LittleEndian
	n := t.NumElements()
	out := make([]int64, n)
	switch t.DType {
	case I64, U64:
		for i := range out {
			out[i] = int64(le.Uint64(t.data[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(le.Uint32(t.data[4*i:])))
		}
	case U32:
		for i := range out {
			out[i] = int64(le.Uint32(t.data[4*i:]))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(le.Uint16(t.data[2*i:])))
		}
	case U16:
		for i := range out {
			out[i] = int64(le.Uint16(t.data[2*i:]))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(t.data[i]))
		}
	case U8, Bool:
		for i := range out {
			out[i] = int64(t.data[i])
		}
	default:
		return nil, fmt.Errorf("tensor %s: %w: %v is not an integer type", t.Name, ErrDType, t.DType)
	}
	return out, nil
}

// chunkElems is how many elements WriteTo converts at a time (1 MiB of F32).
const chunkElems = 1 << 18

// WriteTo streams the tensor as little-endian float32 bytes (converting F16, BF16 and
// the other types on the fly) in chunks of at most 1 MiB, so a GPU staging buffer can be
// filled without a second full copy. A stored F32 tensor is written in one call,
// straight from the memory map.
func (t *Tensor) WriteTo(w io.Writer) (int64, error) {
	if t.gen == nil && t.DType == F32 {
		n, err := w.Write(t.data)
		return int64(n), err
	}
	if t.gen == nil && !decodeF32(nil, nil, t.DType) {
		return 0, fmt.Errorf("tensor %s: %w: cannot convert %v to F32", t.Name, ErrDType, t.DType)
	}
	total := t.NumElements()
	size := t.DType.Size()
	fbuf := make([]float32, min(total, chunkElems))
	bbuf := make([]byte, 4*len(fbuf))
	var written int64
	for start := 0; start < total; start += len(fbuf) {
		f := fbuf[:min(len(fbuf), total-start)]
		if t.gen != nil {
			t.gen(f, start)
		} else {
			decodeF32(f, t.data[start*size:], t.DType)
		}
		b := bbuf[:4*len(f)]
		for i, v := range f {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		n, err := w.Write(b)
		written += int64(n)
		if err != nil {
			return written, fmt.Errorf("tensor %s: %w", t.Name, err)
		}
	}
	return written, nil
}

// Reader returns the little-endian float32 bytes of the tensor as a stream (the same
// bytes WriteTo writes), for APIs that pull instead of push.
func (t *Tensor) Reader() io.Reader {
	if t.gen == nil && t.DType == F32 {
		return &byteReader{b: t.data}
	}
	return &f32Reader{t: t}
}

// f32Reader converts one chunk at a time into pending.
type f32Reader struct {
	t       *Tensor
	next    int // next element to convert
	pending []byte
	fbuf    []float32
	bbuf    []byte
}

func (r *f32Reader) Read(p []byte) (int, error) {
	if len(r.pending) == 0 {
		total := r.t.NumElements()
		if r.next >= total {
			return 0, io.EOF
		}
		if r.fbuf == nil {
			r.fbuf = make([]float32, min(total, chunkElems))
			r.bbuf = make([]byte, 4*len(r.fbuf))
		}
		f := r.fbuf[:min(len(r.fbuf), total-r.next)]
		if r.t.gen != nil {
			r.t.gen(f, r.next)
		} else if !decodeF32(f, r.t.data[r.next*r.t.DType.Size():], r.t.DType) {
			return 0, fmt.Errorf("tensor %s: %w: cannot convert %v to F32", r.t.Name, ErrDType, r.t.DType)
		}
		r.next += len(f)
		b := r.bbuf[:4*len(f)]
		for i, v := range f {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		r.pending = b
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func (t *Tensor) String() string {
	return fmt.Sprintf("%s %v %v", t.Name, t.DType, t.Shape)
}
