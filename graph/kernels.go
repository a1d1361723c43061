package graph

import (
	"errors"
	"fmt"
	"sync"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/shaders"
)

// Kernels records ViLT's ops on one device. It chooses kernel variants from the device's type
// and limits once, and creates pipelines lazily (the device deduplicates them). Safe for
// concurrent use; the Recorder passed to each op is not.
type Kernels struct {
	dev    *gpu.Device
	info   gpu.DeviceInfo
	choice Choice

	mu       sync.Mutex
	dummyBuf *gpu.Buffer
}

// NewKernels prepares the op set for a device (weight precision auto).
func NewKernels(d *gpu.Device) (*Kernels, error) { return NewKernelsPrecision(d, PrecisionAuto) }

// NewKernelsPrecision prepares the op set for a device with weights stored in precision p
// (fp16 is an error where the device cannot read half weights).
func NewKernelsPrecision(d *gpu.Device, p Precision) (*Kernels, error) {
	k := &Kernels{dev: d, info: d.Info()}
	o := OverridesFromEnv()
	o.Precision = p
	c, err := Choose(k.info, o)
	if err != nil {
		return nil, err
	}
	k.choice = c
	return k, nil
}

// Choice is what the kernels chose for the device.
func (k *Kernels) Choice() Choice { return k.choice }

// shaderCode returns an embedded shader's SPIR-V (names are fixed at compile time).
func shaderCode(name string) []byte { return shaders.MustGet(name) }

// Device is the device the kernels run on.
func (k *Kernels) Device() *gpu.Device { return k.dev }

// kernel returns the pipeline for an embedded shader.
func (k *Kernels) kernel(name string, binds []gpu.BindingKind, push int, spec ...gpu.SpecConstant) (*gpu.Kernel, error) {
	code, err := shaders.Get(name)
	if err != nil {
		return nil, err
	}
	return k.dev.Kernel(gpu.KernelSpec{Name: name, SPIRV: code, Bindings: binds, PushSize: push, Spec: spec})
}

// Binding kinds, shortened for the op tables.
const (
	rd  = gpu.ReadOnly
	wr  = gpu.WriteOnly
	rw  = gpu.ReadWrite
	tex = gpu.TexelRead
)

// wg1D is the workgroup size of the element-wise kernels (spec constant 0).
const wg1D = 64

// grid1D lays n invocations of wg-wide workgroups on a 2-D grid that respects the device's
// maxComputeWorkGroupCount (kernels use flat_index() from common.glsl).
func (k *Kernels) grid1D(n, wg int) [3]uint32 {
	g := (n + wg - 1) / wg
	maxX := int(k.info.Limits.MaxComputeWorkGroupCount[0])
	if g <= maxX {
		return [3]uint32{uint32(max(g, 1)), 1, 1}
	}
	return [3]uint32{uint32(maxX), uint32((g + maxX - 1) / maxX), 1}
}

// checkShape reports a shape mismatch for op's argument name.
func checkShape(op, name string, t Tensor, want ...int) error {
	if len(t.Shape) != len(want) {
		return fmt.Errorf("%s: %s has shape %v, want %v", op, name, t.Shape, want)
	}
	for i := range want {
		if want[i] >= 0 && t.Shape[i] != want[i] {
			return fmt.Errorf("%s: %s has shape %v, want %v", op, name, t.Shape, want)
		}
	}
	if t.Buf == nil {
		return fmt.Errorf("%s: %s has no buffer", op, name)
	}
	return nil
}

func checkDType(op, name string, t Tensor, dt DType) error {
	if t.DType != dt {
		return fmt.Errorf("%s: %s is %s, want %s", op, name, t.DType, dt)
	}
	return nil
}

// joinErr joins the non-nil errors (nil when there are none).
func joinErr(errs ...error) error { return errors.Join(errs...) }
