package gpu

// #include <stdlib.h>
// #include "vkbind.h"
import "C"

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"unsafe"
)

// BindingKind is how a kernel reads or writes one binding.
type BindingKind int

// Binding kinds. Texel bindings are bound as RGBA32F uniform texel buffers (the fast read
// path on CPU drivers such as lavapipe); the others as storage buffers.
const (
	ReadOnly  BindingKind = iota // storage buffer the kernel only reads
	WriteOnly                    // storage buffer the kernel only writes
	ReadWrite                    // storage buffer read and written
	TexelRead                    // uniform texel buffer (RGBA32F), read only
	// TexelReadHalf is a uniform texel buffer read through an RGBA16F view (8-byte texels
	// that read as vec4): half-precision weights for the texel kernels, unchanged. Needs
	// Features.UniformTexelRGBA16F.
	TexelReadHalf
)

func (k BindingKind) writes() bool { return k == WriteOnly || k == ReadWrite }
func (k BindingKind) reads() bool  { return k != WriteOnly }

func (k BindingKind) texel() bool { return k == TexelRead || k == TexelReadHalf }

func (k BindingKind) descriptorType() uint32 {
	if k.texel() {
		return C.VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
	}
	return C.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
}

// SpecConstant sets one specialization constant (32-bit: uint, int, bool or float bits).
type SpecConstant struct {
	ID    uint32
	Value uint32
}

// SpecUint, SpecInt and SpecFloat build specialization constants.
func SpecUint(id, v uint32) SpecConstant          { return SpecConstant{id, v} }
func SpecInt(id uint32, v int32) SpecConstant     { return SpecConstant{id, uint32(v)} }
func SpecFloat(id uint32, v float32) SpecConstant { return SpecConstant{id, math.Float32bits(v)} }

// KernelSpec describes a compute pipeline.
type KernelSpec struct {
	Name     string
	SPIRV    []byte
	Bindings []BindingKind // binding i of set 0
	PushSize int           // bytes of push constants (multiple of 4)
	Spec     []SpecConstant
	// RequiredSubgroupSize pins the subgroup size (0: driver's choice). Ignored where the
	// device lacks subgroup size control.
	RequiredSubgroupSize uint32
}

func (s KernelSpec) key() string {
	h := sha256.New()
	h.Write(s.SPIRV)
	var buf [8]byte
	for _, b := range s.Bindings {
		binary.LittleEndian.PutUint32(buf[:4], uint32(b))
		h.Write(buf[:4])
	}
	binary.LittleEndian.PutUint32(buf[:4], uint32(s.PushSize))
	binary.LittleEndian.PutUint32(buf[4:], s.RequiredSubgroupSize)
	h.Write(buf[:])
	for _, c := range s.Spec {
		binary.LittleEndian.PutUint32(buf[:4], c.ID)
		binary.LittleEndian.PutUint32(buf[4:], c.Value)
		h.Write(buf[:])
	}
	return s.Name + "/" + hex.EncodeToString(h.Sum(nil)[:12])
}

// Kernel is a compute pipeline on one device. Kernels are owned by their Device, deduplicated
// by spec, and destroyed when the device closes.
type Kernel struct {
	d         *Device
	spec      KernelSpec
	module    C.VkShaderModule
	setLayout C.VkDescriptorSetLayout
	layout    C.VkPipelineLayout
	pipeline  C.VkPipeline
	nstorage  int
	ntexel    int
}

// Name is the kernel's name (used in profiles and errors).
func (k *Kernel) Name() string { return k.spec.Name }

// Spec returns the kernel's spec.
func (k *Kernel) Spec() KernelSpec { return k.spec }

// Kernel returns the pipeline for spec, creating it on first use.
func (d *Device) Kernel(spec KernelSpec) (*Kernel, error) {
	if d.isClosed() {
		return nil, ErrClosed
	}
	if len(spec.SPIRV) == 0 || len(spec.SPIRV)%4 != 0 || binary.LittleEndian.Uint32(spec.SPIRV) != 0x07230203 {
		return nil, fmt.Errorf("kernel %s: not SPIR-V (%d bytes)", spec.Name, len(spec.SPIRV))
	}
	if len(spec.Bindings) > C.VR_MAX_BINDINGS {
		return nil, fmt.Errorf("kernel %s: %d bindings, at most %d", spec.Name, len(spec.Bindings), C.VR_MAX_BINDINGS)
	}
	if spec.PushSize%4 != 0 || spec.PushSize > 256 || uint32(spec.PushSize) > d.info.Limits.MaxPushConstantsSize {
		return nil, fmt.Errorf("kernel %s: push constants of %d bytes (device allows %d)", spec.Name, spec.PushSize, d.info.Limits.MaxPushConstantsSize)
	}
	if len(spec.Spec) > 64 {
		return nil, fmt.Errorf("kernel %s: too many specialization constants", spec.Name)
	}
	key := spec.key()
	d.kmu.Lock()
	defer d.kmu.Unlock()
	if k, ok := d.kernels[key]; ok {
		return k, nil
	}
	k := &Kernel{d: d, spec: spec}
	types := make([]C.uint32_t, max(1, len(spec.Bindings)))
	for i, b := range spec.Bindings {
		types[i] = C.uint32_t(b.descriptorType())
		if b.texel() {
			k.ntexel++
		} else {
			k.nstorage++
		}
	}
	// Specialization constants are frozen into the module (see specialize), so the pipeline
	// gets none.
	spirv, err := specialize(spec.SPIRV, spec.Spec)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	specs := make([]C.uint32_t, 2)
	sg := spec.RequiredSubgroupSize
	f := d.info.Features
	if sg != 0 && (!f.SubgroupSizeControl || sg < f.MinSubgroupSize || sg > f.MaxSubgroupSize) {
		sg = 0
	}
	code := C.CBytes(spirv)
	defer C.free(code)
	ctypes := (*C.uint32_t)(C.malloc(C.size_t(4 * len(types))))
	defer C.free(unsafe.Pointer(ctypes))
	copy(unsafe.Slice(ctypes, len(types)), types)
	cspecs := (*C.uint32_t)(C.malloc(C.size_t(4 * len(specs))))
	defer C.free(unsafe.Pointer(cspecs))
	copy(unsafe.Slice(cspecs, len(specs)), specs)
	var cache C.VkPipelineCache
	if d.cache != nil {
		cache = d.cache.handle
	}
	r := C.vr_create_kernel(d.c, cache, (*C.uint32_t)(code), C.size_t(len(spirv)), C.uint32_t(len(spec.Bindings)),
		ctypes, C.uint32_t(spec.PushSize), 0, cspecs, C.uint32_t(sg),
		&k.module, &k.setLayout, &k.layout, &k.pipeline)
	if err := vkErr("create compute pipeline", r); err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	track(1)
	d.kernels[key] = k
	return k, nil
}

func (k *Kernel) destroy() {
	C.vr_destroy_kernel(k.d.c, k.module, k.setLayout, k.layout, k.pipeline)
	track(-1)
}

// Push packs push-constant values (uint32, int32, int, float32, uint64 as two words) in
// order, little-endian, 4 bytes each, as GLSL's std430 push_constant block lays out scalars.
func Push(values ...any) []byte {
	out := make([]byte, 0, 4*len(values))
	for _, v := range values {
		switch x := v.(type) {
		case uint32:
			out = binary.LittleEndian.AppendUint32(out, x)
		case int32:
			out = binary.LittleEndian.AppendUint32(out, uint32(x))
		case int:
			out = binary.LittleEndian.AppendUint32(out, uint32(int32(x)))
		case float32:
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
		case uint64:
			out = binary.LittleEndian.AppendUint64(out, x)
		default:
			panic(fmt.Sprintf("gpu.Push: unsupported type %T", v)) // programming error
		}
	}
	return out
}
