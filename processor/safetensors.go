package processor

import (
	"fmt"
	"io"
	"unsafe"

	"github.com/vilt-vk/vilt-vk/weights"
)

// Tensor is one tensor to write: exactly one of I64, F32 or U8 is set.
type Tensor struct {
	Name  string
	Shape []int
	I64   []int64
	F32   []float32
	U8    []uint8
}

// view returns the tensor's little-endian bytes (no copy; the host is little-endian, as
// everywhere Vulkan runs) as a weights.Tensor.
func (t *Tensor) view() (*weights.Tensor, error) {
	var dt weights.DType
	var b []byte
	switch {
	case t.F32 != nil:
		dt = weights.F32
		if len(t.F32) > 0 {
			b = unsafe.Slice((*byte)(unsafe.Pointer(&t.F32[0])), 4*len(t.F32))
		}
	case t.U8 != nil:
		dt, b = weights.U8, t.U8
	default:
		dt = weights.I64
		if len(t.I64) > 0 {
			b = unsafe.Slice((*byte)(unsafe.Pointer(&t.I64[0])), 8*len(t.I64))
		}
	}
	if b == nil {
		b = []byte{}
	}
	return weights.NewTensor(t.Name, dt, t.Shape, b)
}

// WriteSafetensors writes tensors in the safetensors format with weights.WriteSafetensors
// (the one writer of the project).
func WriteSafetensors(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	ts := make([]*weights.Tensor, len(tensors))
	for i := range tensors {
		t, err := tensors[i].view()
		if err != nil {
			return fmt.Errorf("write safetensors: %s: %w", tensors[i].Name, err)
		}
		ts[i] = t
	}
	return weights.WriteSafetensors(w, ts, metadata)
}
