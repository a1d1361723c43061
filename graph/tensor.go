// Package graph turns ViLT's operations into recorded Vulkan dispatches: tensors that live in
// device buffers, one method per op that records its kernel (Kernels), the GEMM variants and
// weight packing for each kind of device, and (later) the planner and executor that record a
// whole forward pass. Every op has a plain Go reference in graph/ref that tests compare with.
package graph

import (
	"context"
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/weights"
)

// DType is a tensor element type. Activations are float32, indices int32; weights may be
// stored as IEEE half (F16, Precision fp16) and are widened to float32 as kernels read them.
type DType uint8

// Element types.
const (
	F32 DType = iota
	I32
	F16
)

func (t DType) String() string {
	switch t {
	case I32:
		return "i32"
	case F16:
		return "f16"
	}
	return "f32"
}

// Size is the element size in bytes.
func (t DType) Size() int {
	if t == F16 {
		return 2
	}
	return 4
}

// Tensor is a dense row-major array in a device buffer, starting at byte offset Off.
type Tensor struct {
	Buf   *gpu.Buffer
	Off   uint64
	Shape []int
	DType DType
}

// Len is the number of elements.
func (t Tensor) Len() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}

// Bytes is the size of the data in bytes.
func (t Tensor) Bytes() uint64 { return uint64(t.DType.Size() * t.Len()) }

// Binding binds exactly the tensor's bytes.
func (t Tensor) Binding() gpu.Binding { return t.Buf.Range(t.Off, t.Bytes()) }

// Dim returns the size of axis i (negative i counts from the end).
func (t Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// Rows is the product of all axes but the last.
func (t Tensor) Rows() int { return t.Len() / t.Dim(-1) }

func (t Tensor) String() string { return fmt.Sprintf("%s%v", t.DType, t.Shape) }

// View returns a tensor over the same bytes with another shape (same element count), or a
// sub-range starting elemOff elements in.
func (t Tensor) View(elemOff int, shape ...int) Tensor {
	return Tensor{Buf: t.Buf, Off: t.Off + uint64(t.DType.Size()*elemOff), Shape: shape, DType: t.DType}
}

// NewTensor allocates an uninitialised tensor.
func NewTensor(d *gpu.Device, dt DType, shape ...int) (Tensor, error) {
	t := Tensor{Shape: append([]int(nil), shape...), DType: dt}
	if t.Len() <= 0 {
		return Tensor{}, fmt.Errorf("new tensor %v: empty shape", shape)
	}
	b, err := d.Alloc(t.Bytes())
	if err != nil {
		return Tensor{}, fmt.Errorf("new tensor %v: %w", shape, err)
	}
	t.Buf = b
	return t, nil
}

// UploadTensor allocates a tensor and fills it with v (float32 or int32).
func UploadTensor[T float32 | int32](ctx context.Context, d *gpu.Device, v []T, shape ...int) (Tensor, error) {
	dt := F32
	var zero T
	if _, ok := any(zero).(int32); ok {
		dt = I32
	}
	t, err := NewTensor(d, dt, shape...)
	if err != nil {
		return Tensor{}, err
	}
	if t.Len() != len(v) {
		t.Buf.Free()
		return Tensor{}, fmt.Errorf("upload tensor %v: %d values for %d elements", shape, len(v), t.Len())
	}
	if err := d.Upload(ctx, t.Buf, t.Off, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))); err != nil {
		t.Buf.Free()
		return Tensor{}, err
	}
	return t, nil
}

// UploadHalf allocates an F16 tensor and fills it with v rounded to half precision
// (weights.F32ToF16), converting in chunks so no second full copy is held.
func UploadHalf(ctx context.Context, d *gpu.Device, v []float32, shape ...int) (Tensor, error) {
	t, err := NewTensor(d, F16, shape...)
	if err != nil {
		return Tensor{}, err
	}
	if t.Len() != len(v) {
		t.Buf.Free()
		return Tensor{}, fmt.Errorf("upload tensor %v: %d values for %d elements", shape, len(v), t.Len())
	}
	if err := uploadHalfAt(ctx, d, t.Buf, t.Off, v); err != nil {
		t.Buf.Free()
		return Tensor{}, err
	}
	return t, nil
}

// uploadHalfAt writes v as half-precision values at byte off of b.
func uploadHalfAt(ctx context.Context, d *gpu.Device, b *gpu.Buffer, off uint64, v []float32) error {
	const chunk = 1 << 20
	buf := make([]byte, 2*min(chunk, len(v)))
	for i := 0; i < len(v); i += chunk {
		part := v[i:min(i+chunk, len(v))]
		for j, f := range part {
			binary.LittleEndian.PutUint16(buf[2*j:], weights.F32ToF16(f))
		}
		if err := d.Upload(ctx, b, off+uint64(2*i), buf[:2*len(part)]); err != nil {
			return err
		}
	}
	return nil
}

// ReadFloat32s downloads a float32 tensor (an int32 one as its bits).
func ReadFloat32s(ctx context.Context, d *gpu.Device, t Tensor) ([]float32, error) {
	if t.DType.Size() != 4 {
		return nil, fmt.Errorf("read float32s: tensor is %s", t.DType)
	}
	v := make([]float32, t.Len())
	if err := d.DownloadFloat32s(ctx, t.Buf, t.Off, v); err != nil {
		return nil, err
	}
	return v, nil
}
