package weights

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
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
	// file, when set, holds data at fileOff. Streaming reads it with pread instead of
	// walking the memory map: that avoids a page fault per 4 KiB and runs several
	// times faster (see BenchmarkLoad).
	file    io.ReaderAt
	fileOff int64
}

// raw copies stored bytes [off, off+len(dst)) into dst.
func (t *Tensor) raw(dst []byte, off int) error {
	if t.file == nil {
		copy(dst, t.data[off:])
		return nil
	}
	_, err := t.file.ReadAt(dst, t.fileOff+int64(off))
	if err != nil {
		return fmt.Errorf("tensor %s: read: %w", t.Name, err)
	}
	return nil
}

// chunkPool holds the 1 MiB buffers streaming uses.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 4*chunkElems); return &b }}

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
	if !decodeF32(nil, nil, t.DType) {
		return nil, fmt.Errorf("tensor %s: %w: cannot convert %v to F32", t.Name, ErrDType, t.DType)
	}
	if t.file == nil {
		decodeF32(out, t.data, t.DType)
		return out, nil
	}
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	size := t.DType.Size()
	step := len(*bp) / size
	for start := 0; start < len(out); start += step {
		f := out[start:min(len(out), start+step)]
		src := (*bp)[:len(f)*size]
		if err := t.raw(src, start*size); err != nil {
			return nil, err
		}
		decodeF32(f, src, t.DType)
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
// filled without a second full copy of the checkpoint. Tensors of an opened file are
// read with pread; an in-memory F32 tensor is written in one call. ReadAt is the
// single-copy alternative for a destination that is a byte slice.
func (t *Tensor) WriteTo(w io.Writer) (int64, error) {
	if t.gen == nil && t.DType == F32 && t.file == nil {
		n, err := w.Write(t.data)
		return int64(n), err
	}
	if t.gen == nil && !decodeF32(nil, nil, t.DType) {
		return 0, fmt.Errorf("tensor %s: %w: cannot convert %v to F32", t.Name, ErrDType, t.DType)
	}
	r := f32Reader{t: t}
	defer r.release()
	var written int64
	for {
		b, err := r.next()
		if err == io.EOF {
			return written, nil
		}
		if err != nil {
			return written, err
		}
		n, err := w.Write(b)
		written += int64(n)
		if err != nil {
			return written, fmt.Errorf("tensor %s: %w", t.Name, err)
		}
	}
}

// Reader returns the little-endian float32 bytes of the tensor as a stream (the same
// bytes WriteTo writes), for APIs that pull instead of push.
func (t *Tensor) Reader() io.Reader {
	if t.gen == nil && t.DType == F32 && t.file == nil {
		return &byteReader{b: t.data}
	}
	return &f32Reader{t: t}
}

// f32Reader produces the F32 bytes of a tensor one chunk (≤ 1 MiB) at a time.
type f32Reader struct {
	t       *Tensor
	next_   int // next element
	pending []byte
	buf     *[]byte // F32 output chunk
	src     *[]byte // raw input chunk (conversions)
	fbuf    []float32
}

// next returns the next chunk of F32 bytes, valid until the following call.
func (r *f32Reader) next() ([]byte, error) {
	t := r.t
	total := t.NumElements()
	if r.next_ >= total {
		return nil, io.EOF
	}
	if r.buf == nil {
		r.buf = chunkPool.Get().(*[]byte)
	}
	n := min(chunkElems, total-r.next_)
	out := (*r.buf)[:4*n]
	switch {
	case t.gen == nil && t.DType == F32:
		if err := t.raw(out, 4*r.next_); err != nil {
			return nil, err
		}
	default:
		if r.fbuf == nil {
			r.fbuf = make([]float32, min(chunkElems, total))
		}
		f := r.fbuf[:n]
		if t.gen != nil {
			t.gen(f, r.next_)
		} else {
			if r.src == nil {
				r.src = chunkPool.Get().(*[]byte)
			}
			size := t.DType.Size()
			src := (*r.src)[:0]
			if cap(src) < n*size {
				src = make([]byte, n*size)
			}
			src = src[:n*size]
			if err := t.raw(src, r.next_*size); err != nil {
				return nil, err
			}
			if !decodeF32(f, src, t.DType) {
				return nil, fmt.Errorf("tensor %s: %w: cannot convert %v to F32", t.Name, ErrDType, t.DType)
			}
		}
		for i, v := range f {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
	}
	r.next_ += n
	return out, nil
}

func (r *f32Reader) release() {
	if r.buf != nil {
		chunkPool.Put(r.buf)
		r.buf = nil
	}
	if r.src != nil {
		chunkPool.Put(r.src)
		r.src = nil
	}
}

func (r *f32Reader) Read(p []byte) (int, error) {
	if len(r.pending) == 0 {
		b, err := r.next()
		if err != nil {
			r.release()
			return 0, err
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

// ReadAt reads the tensor's little-endian F32 bytes (the WriteTo stream) at offset
// off, as io.ReaderAt. For a stored F32 tensor this is one pread straight into p, so
// a caller can fill a mapped GPU staging buffer with a single copy; other dtypes are
// converted on the fly.
func (t *Tensor) ReadAt(p []byte, off int64) (int, error) {
	size := t.F32Size()
	if off < 0 {
		return 0, fmt.Errorf("tensor %s: negative offset", t.Name)
	}
	if off >= size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), size-off))
	var err error
	if t.gen == nil && t.DType == F32 {
		err = t.raw(p[:n], int(off))
	} else {
		err = t.convertAt(p[:n], off)
	}
	if err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// convertAt fills p with F32 bytes starting at byte offset off (any alignment).
func (t *Tensor) convertAt(p []byte, off int64) error {
	if t.gen == nil && !decodeF32(nil, nil, t.DType) {
		return fmt.Errorf("tensor %s: %w: cannot convert %v to F32", t.Name, ErrDType, t.DType)
	}
	size := t.DType.Size()
	var f [256]float32
	var b [4 * 256]byte
	var src [8 * 256]byte
	for len(p) > 0 {
		e0 := int(off / 4)
		k := min(len(f), (int(off%4)+len(p)+3)/4)
		if t.gen != nil {
			t.gen(f[:k], e0)
		} else {
			if err := t.raw(src[:k*size], e0*size); err != nil {
				return err
			}
			decodeF32(f[:k], src[:k*size], t.DType)
		}
		for i, v := range f[:k] {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		c := copy(p, b[off%4:4*k])
		p = p[c:]
		off += int64(c)
	}
	return nil
}
