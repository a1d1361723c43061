package gpu

// #include "vkbind.h"
import "C"

import (
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

// DeviceType is the kind of physical device, as Vulkan reports it.
type DeviceType int

// Device types in Vulkan's numbering.
const (
	TypeOther      DeviceType = 0
	TypeIntegrated DeviceType = 1
	TypeDiscrete   DeviceType = 2
	TypeVirtual    DeviceType = 3
	TypeCPU        DeviceType = 4
)

func (t DeviceType) String() string {
	switch t {
	case TypeIntegrated:
		return "integrated"
	case TypeDiscrete:
		return "discrete"
	case TypeVirtual:
		return "virtual"
	case TypeCPU:
		return "cpu"
	}
	return "other"
}

// MarshalText makes the type print as a word in JSON.
func (t DeviceType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText accepts the words MarshalText writes.
func (t *DeviceType) UnmarshalText(b []byte) error {
	for _, c := range []DeviceType{TypeOther, TypeIntegrated, TypeDiscrete, TypeVirtual, TypeCPU} {
		if c.String() == string(b) {
			*t = c
			return nil
		}
	}
	return fmt.Errorf("unknown device type %q", b)
}

// preference ranks types for the default choice: discrete > integrated > virtual > CPU > other.
func (t DeviceType) preference() int {
	switch t {
	case TypeDiscrete:
		return 4
	case TypeIntegrated:
		return 3
	case TypeVirtual:
		return 2
	case TypeCPU:
		return 1
	}
	return 0
}

// MemoryHeap is one heap of device memory.
type MemoryHeap struct {
	Size        uint64 `json:"size"`
	DeviceLocal bool   `json:"device_local"`
}

// Limits are the device limits that compute kernels and memory planning depend on.
type Limits struct {
	MaxStorageBufferRange           uint64    `json:"max_storage_buffer_range"`
	MaxUniformBufferRange           uint64    `json:"max_uniform_buffer_range"`
	MaxTexelBufferElements          uint64    `json:"max_texel_buffer_elements"`
	MaxComputeSharedMemorySize      uint32    `json:"max_compute_shared_memory_size"`
	MaxComputeWorkGroupInvocations  uint32    `json:"max_compute_work_group_invocations"`
	MaxComputeWorkGroupSize         [3]uint32 `json:"max_compute_work_group_size"`
	MaxComputeWorkGroupCount        [3]uint32 `json:"max_compute_work_group_count"`
	MinStorageBufferOffsetAlignment uint64    `json:"min_storage_buffer_offset_alignment"`
	MinTexelBufferOffsetAlignment   uint64    `json:"min_texel_buffer_offset_alignment"`
	MaxPushConstantsSize            uint32    `json:"max_push_constants_size"`
	MaxBoundDescriptorSets          uint32    `json:"max_bound_descriptor_sets"`
	MaxPerStageStorageBuffers       uint32    `json:"max_per_stage_descriptor_storage_buffers"`
	MaxMemoryAllocationCount        uint32    `json:"max_memory_allocation_count"`
	NonCoherentAtomSize             uint64    `json:"non_coherent_atom_size"`
	TimestampPeriod                 float32   `json:"timestamp_period_ns"`
	TimestampComputeAndGraphics     bool      `json:"timestamp_compute_and_graphics"`
}

// Features are the optional capabilities kernels may specialize on.
type Features struct {
	SubgroupSize             uint32   `json:"subgroup_size"`
	MinSubgroupSize          uint32   `json:"min_subgroup_size,omitempty"`
	MaxSubgroupSize          uint32   `json:"max_subgroup_size,omitempty"`
	SubgroupSizeControl      bool     `json:"subgroup_size_control"`
	ComputeFullSubgroups     bool     `json:"compute_full_subgroups"`
	SubgroupInCompute        bool     `json:"subgroup_in_compute"`
	SubgroupOperations       []string `json:"subgroup_operations"`
	ShaderFloat16            bool     `json:"shader_float16"`
	StorageBuffer16BitAccess bool     `json:"storage_buffer_16bit_access"`
	ShaderInt8               bool     `json:"shader_int8"`
	StorageBuffer8BitAccess  bool     `json:"storage_buffer_8bit_access"`
	ShaderInt64              bool     `json:"shader_int64"`
	// UniformTexelRGBA16F: R16G16B16A16_SFLOAT views can be read as uniform texel buffers
	// (half-precision weights through the texel kernels, as TexelReadHalf bindings).
	UniformTexelRGBA16F bool `json:"uniform_texel_rgba16f"`
	CooperativeMatrix   bool `json:"cooperative_matrix"`
	CooperativeMatrixNV bool `json:"cooperative_matrix_nv"`
}

// DeviceInfo describes one physical device.
type DeviceInfo struct {
	Index              int          `json:"index"`
	Name               string       `json:"name"`
	Type               DeviceType   `json:"type"`
	VendorID           uint32       `json:"vendor_id"`
	Vendor             string       `json:"vendor"`
	DeviceID           uint32       `json:"device_id"`
	APIVersion         string       `json:"api_version"`
	DriverName         string       `json:"driver_name"`
	DriverInfo         string       `json:"driver_info"`
	DriverVersion      string       `json:"driver_version"`
	DriverID           uint32       `json:"driver_id"`
	DeviceUUID         string       `json:"device_uuid"`
	DriverUUID         string       `json:"driver_uuid"`
	PipelineCacheUUID  string       `json:"pipeline_cache_uuid"`
	Heaps              []MemoryHeap `json:"memory_heaps"`
	Limits             Limits       `json:"limits"`
	Features           Features     `json:"features"`
	ComputeQueueFamily int          `json:"compute_queue_family"`
	TimestampValidBits uint32       `json:"timestamp_valid_bits"`
	// Timestamps reports whether per-dispatch GPU timing works on the compute queue.
	Timestamps bool `json:"timestamps"`

	apiVersion    uint32
	driverVersion uint32
}

// DeviceLocalBytes is the size of the largest device-local heap.
func (d DeviceInfo) DeviceLocalBytes() uint64 {
	var m uint64
	for _, h := range d.Heaps {
		if h.DeviceLocal && h.Size > m {
			m = h.Size
		}
	}
	return m
}

func vendorName(id uint32) string {
	switch id {
	case 0x10DE:
		return "NVIDIA"
	case 0x1002:
		return "AMD"
	case 0x8086:
		return "Intel"
	case 0x13B5:
		return "ARM"
	case 0x5143:
		return "Qualcomm"
	case 0x106B:
		return "Apple"
	case 0x1010:
		return "ImgTec"
	case 0x10005:
		return "Mesa"
	case 0x1AE0:
		return "Google"
	}
	return fmt.Sprintf("0x%04X", id)
}

// driverVersionString decodes the vendor-specific packing of driverVersion.
func driverVersionString(vendor, v uint32) string {
	switch vendor {
	case 0x10DE: // NVIDIA: 10.8.8.6 bits
		return fmt.Sprintf("%d.%d.%d.%d", v>>22, (v>>14)&0xff, (v>>6)&0xff, v&0x3f)
	}
	return versionString(v)
}

var subgroupOpNames = []struct {
	bit  uint32
	name string
}{
	{C.VK_SUBGROUP_FEATURE_BASIC_BIT, "basic"},
	{C.VK_SUBGROUP_FEATURE_VOTE_BIT, "vote"},
	{C.VK_SUBGROUP_FEATURE_ARITHMETIC_BIT, "arithmetic"},
	{C.VK_SUBGROUP_FEATURE_BALLOT_BIT, "ballot"},
	{C.VK_SUBGROUP_FEATURE_SHUFFLE_BIT, "shuffle"},
	{C.VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT, "shuffle_relative"},
	{C.VK_SUBGROUP_FEATURE_CLUSTERED_BIT, "clustered"},
	{C.VK_SUBGROUP_FEATURE_QUAD_BIT, "quad"},
}

func fromC(index int, ci *C.vr_devinfo) DeviceInfo {
	p := &ci.props
	l := &p.limits
	info := DeviceInfo{
		Index:             index,
		Name:              C.GoString(&p.deviceName[0]),
		Type:              DeviceType(p.deviceType),
		VendorID:          uint32(p.vendorID),
		Vendor:            vendorName(uint32(p.vendorID)),
		DeviceID:          uint32(p.deviceID),
		APIVersion:        versionString(uint32(p.apiVersion)),
		DriverName:        C.GoString(&ci.driver_name[0]),
		DriverInfo:        C.GoString(&ci.driver_info[0]),
		DriverVersion:     driverVersionString(uint32(p.vendorID), uint32(p.driverVersion)),
		DriverID:          uint32(ci.driver_id),
		DeviceUUID:        hex.EncodeToString(C.GoBytes(unsafe.Pointer(&ci.device_uuid[0]), C.VK_UUID_SIZE)),
		DriverUUID:        hex.EncodeToString(C.GoBytes(unsafe.Pointer(&ci.driver_uuid[0]), C.VK_UUID_SIZE)),
		PipelineCacheUUID: hex.EncodeToString(C.GoBytes(unsafe.Pointer(&p.pipelineCacheUUID[0]), C.VK_UUID_SIZE)),
		Limits: Limits{
			MaxStorageBufferRange:           uint64(l.maxStorageBufferRange),
			MaxUniformBufferRange:           uint64(l.maxUniformBufferRange),
			MaxTexelBufferElements:          uint64(l.maxTexelBufferElements),
			MaxComputeSharedMemorySize:      uint32(l.maxComputeSharedMemorySize),
			MaxComputeWorkGroupInvocations:  uint32(l.maxComputeWorkGroupInvocations),
			MinStorageBufferOffsetAlignment: uint64(l.minStorageBufferOffsetAlignment),
			MinTexelBufferOffsetAlignment:   uint64(l.minTexelBufferOffsetAlignment),
			MaxPushConstantsSize:            uint32(l.maxPushConstantsSize),
			MaxBoundDescriptorSets:          uint32(l.maxBoundDescriptorSets),
			MaxPerStageStorageBuffers:       uint32(l.maxPerStageDescriptorStorageBuffers),
			MaxMemoryAllocationCount:        uint32(l.maxMemoryAllocationCount),
			NonCoherentAtomSize:             uint64(l.nonCoherentAtomSize),
			TimestampPeriod:                 float32(l.timestampPeriod),
			TimestampComputeAndGraphics:     l.timestampComputeAndGraphics != 0,
		},
		Features: Features{
			SubgroupSize:             uint32(ci.subgroup_size),
			MinSubgroupSize:          uint32(ci.min_subgroup_size),
			MaxSubgroupSize:          uint32(ci.max_subgroup_size),
			SubgroupSizeControl:      ci.subgroup_size_control != 0 && ci.required_subgroup_size_stages&C.VK_SHADER_STAGE_COMPUTE_BIT != 0,
			ComputeFullSubgroups:     ci.compute_full_subgroups != 0,
			SubgroupInCompute:        ci.subgroup_stages&C.VK_SHADER_STAGE_COMPUTE_BIT != 0,
			ShaderFloat16:            ci.shader_float16 != 0,
			StorageBuffer16BitAccess: ci.storage_buffer16 != 0,
			ShaderInt8:               ci.shader_int8 != 0,
			StorageBuffer8BitAccess:  ci.storage_buffer8 != 0,
			ShaderInt64:              ci.shader_int64 != 0,
			UniformTexelRGBA16F:      ci.texel_rgba16f != 0,
			CooperativeMatrix:        ci.has_coopmat_khr != 0,
			CooperativeMatrixNV:      ci.has_coopmat_nv != 0,
		},
		ComputeQueueFamily: int(ci.compute_family),
		TimestampValidBits: uint32(ci.timestamp_valid_bits),
		apiVersion:         uint32(p.apiVersion),
		driverVersion:      uint32(p.driverVersion),
	}
	for i := 0; i < 3; i++ {
		info.Limits.MaxComputeWorkGroupSize[i] = uint32(l.maxComputeWorkGroupSize[i])
		info.Limits.MaxComputeWorkGroupCount[i] = uint32(l.maxComputeWorkGroupCount[i])
	}
	info.Timestamps = info.TimestampValidBits > 0 && info.Limits.TimestampPeriod > 0
	info.Features.SubgroupOperations = []string{}
	for _, op := range subgroupOpNames {
		if uint32(ci.subgroup_ops)&op.bit != 0 {
			info.Features.SubgroupOperations = append(info.Features.SubgroupOperations, op.name)
		}
	}
	for i := 0; i < int(ci.mem.memoryHeapCount); i++ {
		h := ci.mem.memoryHeaps[i]
		info.Heaps = append(info.Heaps, MemoryHeap{Size: uint64(h.size), DeviceLocal: h.flags&C.VK_MEMORY_HEAP_DEVICE_LOCAL_BIT != 0})
	}
	return info
}

// Devices lists every physical device the loader reports, in the loader's order.
func (inst *Instance) Devices() ([]DeviceInfo, error) {
	pds, err := inst.physicalDevices()
	if err != nil {
		return nil, fmt.Errorf("enumerate devices: %w", err)
	}
	out := make([]DeviceInfo, 0, len(pds))
	for i, pd := range pds {
		var ci C.vr_devinfo
		if err := vkErr("query device", C.vr_device_info(inst.c, pd, &ci)); err != nil {
			return nil, fmt.Errorf("device %d: %w", i, err)
		}
		out = append(out, fromC(i, &ci))
	}
	return out, nil
}

// Select picks devices by a selector: "" (then VILT_DEVICE, then the default preference
// discrete > integrated > virtual > CPU), a decimal index, a comma-separated list of
// indices or name substrings, or "all". It returns the chosen devices' indices.
func Select(devs []DeviceInfo, selector string) ([]int, error) {
	var usable []DeviceInfo
	for _, d := range devs {
		if d.ComputeQueueFamily >= 0 {
			usable = append(usable, d)
		}
	}
	if len(usable) == 0 {
		return nil, fmt.Errorf("%w: the loader reports %d device(s), none with a compute queue", ErrNoDevice, len(devs))
	}
	if selector == "" {
		selector = os.Getenv("VILT_DEVICE")
	}
	selector = strings.TrimSpace(selector)
	if selector == "" {
		best := usable[0]
		for _, d := range usable[1:] {
			if d.Type.preference() > best.Type.preference() {
				best = d
			}
		}
		return []int{best.Index}, nil
	}
	if strings.EqualFold(selector, "all") {
		idx := make([]int, len(usable))
		for i, d := range usable {
			idx[i] = d.Index
		}
		return idx, nil
	}
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(selector, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if n, err := strconv.Atoi(part); err == nil {
			ok := false
			for _, d := range usable {
				if d.Index == n {
					ok = true
				}
			}
			if !ok {
				return nil, fmt.Errorf("%w: no device with index %d (have %s)", ErrNoDevice, n, describe(usable))
			}
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
			continue
		}
		matched := false
		for _, d := range usable {
			if strings.Contains(strings.ToLower(d.Name), strings.ToLower(part)) {
				matched = true
				if !seen[d.Index] {
					seen[d.Index] = true
					out = append(out, d.Index)
				}
				break
			}
		}
		if !matched {
			return nil, fmt.Errorf("%w: no device name contains %q (have %s)", ErrNoDevice, part, describe(usable))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty device selector", ErrNoDevice)
	}
	sort.Ints(out)
	return out, nil
}

func describe(devs []DeviceInfo) string {
	parts := make([]string, len(devs))
	for i, d := range devs {
		parts[i] = fmt.Sprintf("%d: %s", d.Index, d.Name)
	}
	return strings.Join(parts, ", ")
}
