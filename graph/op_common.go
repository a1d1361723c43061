package graph

import (
	"fmt"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// Helpers shared by the memory-bound ops (op_*.go): every such kernel takes an element
// offset per tensor in its push constants, so a Tensor that is a View starting anywhere
// (e.g. one row of a batch) can be bound even where its byte offset does not meet the
// device's minStorageBufferOffsetAlignment.

// elemBytes is the size of one element of the activations (F32) and indices (I32); F16
// weights are bound by bindAt with their own size.
const elemBytes = 4

// bindAt binds t's bytes from the nearest offset at or below t.Off that the device accepts
// for a storage buffer, and returns the element offset of t's first element in that binding.
func (k *Kernels) bindAt(op, name string, t Tensor) (gpu.Binding, uint32, error) {
	if t.Buf == nil {
		return gpu.Binding{}, 0, fmt.Errorf("%s: %s has no buffer", op, name)
	}
	es := uint64(t.DType.Size())
	if t.Off%es != 0 {
		return gpu.Binding{}, 0, fmt.Errorf("%s: %s starts at byte %d, not a multiple of %d", op, name, t.Off, es)
	}
	if t.Len() <= 0 {
		return gpu.Binding{}, 0, fmt.Errorf("%s: %s %v is empty", op, name, t.Shape)
	}
	a := max(k.info.Limits.MinStorageBufferOffsetAlignment, es)
	off := t.Off / a * a
	n := t.Off - off + t.Bytes()
	if t.Off+t.Bytes() > t.Buf.Size() {
		return gpu.Binding{}, 0, fmt.Errorf("%s: %s %v (bytes %d..%d) lies outside its buffer of %d bytes", op, name, t.Shape, t.Off, t.Off+t.Bytes(), t.Buf.Size())
	}
	e := (t.Off - off) / es
	return t.Buf.Range(off, n), uint32(e), nil
}

// binder collects bindings and element offsets for one dispatch, keeping the first error.
type binder struct {
	k     *Kernels
	op    string
	binds []gpu.Binding
	err   error
}

func (k *Kernels) binder(op string) *binder { return &binder{k: k, op: op} }

// add binds t and returns its element offset.
func (b *binder) add(name string, t Tensor) uint32 {
	bd, e, err := b.k.bindAt(b.op, name, t)
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		return 0
	}
	b.binds = append(b.binds, bd)
	return e
}

// maxElems is the largest element count the 32-bit index math of these kernels handles.
const maxElems = 1<<31 - 1

func checkElems(op string, n int) error {
	if n <= 0 || n > maxElems {
		return fmt.Errorf("%s: %d elements (want 1..%d)", op, n, maxElems)
	}
	return nil
}

// dispatch1D records a kernel with one invocation per item (n items, wg1D per workgroup).
func (k *Kernels) dispatch1D(rec *gpu.Recorder, kern *gpu.Kernel, n int, push []byte, binds []gpu.Binding) error {
	if rec == nil {
		return fmt.Errorf("%s: nil recorder", kern.Name())
	}
	if err := rec.Dispatch(kern, k.grid1D(n, wg1D), push, binds...); err != nil {
		return err
	}
	return nil
}

// kernel1D returns an op's pipeline with the element-wise workgroup size.
func (k *Kernels) kernel1D(name string, binds []gpu.BindingKind, push int) (*gpu.Kernel, error) {
	return k.kernel(name, binds, push, gpu.SpecUint(0, wg1D))
}

// sameLen checks that dst and x hold as many elements.
func sameLen(op string, dst, x Tensor) error {
	if dst.Len() != x.Len() {
		return fmt.Errorf("%s: dst %v has %d elements, input %v has %d", op, dst.Shape, dst.Len(), x.Shape, x.Len())
	}
	return nil
}

func hasBuf(op string, ts map[string]Tensor) error {
	for name, t := range ts {
		if t.Buf == nil {
			return fmt.Errorf("%s: %s has no buffer", op, name)
		}
		if len(t.Shape) == 0 {
			return fmt.Errorf("%s: %s has no shape", op, name)
		}
		for _, s := range t.Shape {
			if s <= 0 {
				return fmt.Errorf("%s: %s has shape %v", op, name, t.Shape)
			}
		}
	}
	return nil
}

// maxRowWidth caps the rows of the one-invocation-per-row kernels (LayerNorm, Softmax): Mesa
// 22.x llvmpipe (lavapipe) silently ends an invocation after 65535 loop iterations in total
// (LP_MAX_TGSI_LOOP_ITERATIONS, one counter shared by every loop of the shader, nested ones
// included), leaving the rest of its output unwritten; those kernels unroll by 4 and take
// ~3n/4 iterations per row. ViLT needs at most 3072.
const maxRowWidth = 65536

func checkRowWidth(op string, n int) error {
	if n > maxRowWidth {
		return fmt.Errorf("%s: rows of %d elements, at most %d supported", op, n, maxRowWidth)
	}
	return nil
}

// texelAt binds t as an RGBA32F uniform texel buffer (the fast read path on lavapipe) when it
// can be: t must start on a 16-byte boundary, and the view, aligned down to
// minTexelBufferOffsetAlignment and rounded up to whole texels, must lie inside t's buffer.
// It returns the element offset of t's first element in the view (a multiple of 4).
//
// An F16 tensor is viewed as RGBA16F (8-byte texels; bind it as gpu.TexelReadHalf).
func (k *Kernels) texelAt(t Tensor) (gpu.Binding, uint32, bool) {
	tb := uint64(4 * t.DType.Size())
	if t.Buf == nil || t.Off%tb != 0 || t.Len() <= 0 {
		return gpu.Binding{}, 0, false
	}
	if t.DType == F16 && !k.info.Features.UniformTexelRGBA16F {
		return gpu.Binding{}, 0, false
	}
	a := max(k.info.Limits.MinTexelBufferOffsetAlignment, tb)
	off := t.Off / a * a
	end := (t.Off + t.Bytes() + tb - 1) / tb * tb
	if end > t.Buf.Size() || (end-off)/tb > uint64(k.info.Limits.MaxTexelBufferElements) {
		return gpu.Binding{}, 0, false
	}
	return t.Buf.Range(off, end-off), uint32((t.Off - off) / uint64(t.DType.Size())), true
}

// texelBinder is binder for kernels whose inputs are texel buffers: it records whether every
// tensor could be bound that way.
type texelBinder struct {
	k     *Kernels
	binds []gpu.Binding
	ok    bool
}

func (k *Kernels) texelBinder() *texelBinder { return &texelBinder{k: k, ok: true} }

// tex binds t as a texel buffer.
func (b *texelBinder) tex(t Tensor) uint32 {
	bd, e, ok := b.k.texelAt(t)
	if !ok {
		b.ok = false
		return 0
	}
	b.binds = append(b.binds, bd)
	return e
}

// vec4 binds t as a storage buffer of vec4 (it must start on a 16-byte boundary within an
// aligned binding).
func (b *texelBinder) vec4(op, name string, t Tensor) uint32 {
	if t.Off%16 != 0 {
		b.ok = false
		return 0
	}
	bd, e, err := b.k.bindAt(op, name, t)
	if err != nil || e%4 != 0 {
		b.ok = false
		return 0
	}
	b.binds = append(b.binds, bd)
	return e
}
