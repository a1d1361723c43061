package weights

import (
	"errors"
	"fmt"
	"os"

	"github.com/nlpodyssey/safetensors"
)

// Safetensors is a memory-mapped .safetensors file. Its tensors are views into the map.
type Safetensors struct {
	path     string
	file     *os.File
	data     []byte
	tensors  map[string]*Tensor
	names    []string
	metadata map[string]string
}

// OpenSafetensors maps a .safetensors file and checks its header: JSON, known dtypes,
// offsets that tile the data area exactly (no gap, overlap or overrun), and byte counts
// that match the shapes.
func OpenSafetensors(path string) (*Safetensors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open safetensors: %w", err)
	}
	data, err := mapFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open safetensors %s: %w", path, err)
	}
	s, err := ParseSafetensors(data)
	if err != nil {
		unmap(data)
		f.Close()
		return nil, fmt.Errorf("open safetensors %s: %w", path, err)
	}
	s.path, s.data, s.file = path, data, f
	for _, t := range s.tensors {
		t.file = f
	}
	return s, nil
}

// ParseSafetensors reads a safetensors image already in memory (not copied; the tensors
// alias buf). Close does not free buf.
func ParseSafetensors(buf []byte) (s *Safetensors, err error) {
	defer func() {
		if r := recover(); r != nil { // the parser is third-party; never let bad input panic
			s, err = nil, fmt.Errorf("%w: %v", ErrFormat, r)
		}
	}()
	if len(buf) < 8 {
		return nil, fmt.Errorf("%w: truncated: %d bytes, need at least 8", ErrFormat, len(buf))
	}
	n, meta, err := safetensors.ReadMetadata(buf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	body := buf[8+n:]
	s = &Safetensors{tensors: map[string]*Tensor{}, metadata: meta.Metadata()}
	for name, info := range meta.Tensors() {
		dt, err := ParseDType(info.DType.String())
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		shape := make([]int, len(info.Shape))
		for i, d := range info.Shape {
			if d > 1<<48 {
				return nil, fmt.Errorf("tensor %s: %w: dimension %d too large", name, ErrFormat, d)
			}
			shape[i] = int(d)
		}
		lo, hi := info.DataOffsets[0], info.DataOffsets[1]
		if lo > hi || hi > uint64(len(body)) {
			return nil, fmt.Errorf("tensor %s: %w: offsets [%d,%d) outside the %d-byte data area", name, ErrFormat, lo, hi, len(body))
		}
		t, err := NewTensor(name, dt, shape, body[lo:hi:hi])
		if err != nil {
			return nil, err
		}
		t.fileOff = int64(8 + n + lo)
		s.tensors[name] = t
	}
	s.names = sortedKeys(s.tensors)
	return s, nil
}

// Names lists the tensor names, sorted.
func (s *Safetensors) Names() []string { return s.names }

// Metadata is the header's __metadata__ map (may be nil).
func (s *Safetensors) Metadata() map[string]string { return s.metadata }

// Tensor returns a view of the named tensor.
func (s *Safetensors) Tensor(name string) (*Tensor, error) {
	t, ok := s.tensors[name]
	if !ok {
		return nil, fmt.Errorf("tensor %q in %s: %w", name, s.path, ErrNotFound)
	}
	return t, nil
}

// Close unmaps the file; tensors from it must not be used afterwards.
func (s *Safetensors) Close() error {
	d, f := s.data, s.file
	s.data, s.file = nil, nil
	var err error
	if f != nil {
		err = f.Close()
	}
	return errors.Join(unmap(d), err)
}
