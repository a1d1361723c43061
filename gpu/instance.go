package gpu

// #include <stdlib.h>
// #include "vkbind.h"
import "C"

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Severity of a debug message.
type Severity int

// Message severities, as Vulkan's debug-utils defines them.
const (
	SeverityVerbose Severity = 1
	SeverityInfo    Severity = 0x10
	SeverityWarning Severity = 0x100
	SeverityError   Severity = 0x1000
)

func (s Severity) String() string {
	switch {
	case s >= SeverityError:
		return "error"
	case s >= SeverityWarning:
		return "warning"
	case s >= SeverityInfo:
		return "info"
	}
	return "verbose"
}

// Message is one debug-utils message (validation layer, loader or driver).
type Message struct {
	Severity Severity
	Kind     string // "general", "validation" or "performance"
	ID       string // e.g. "VUID-vkCmdDispatch-None-02697"
	Text     string
}

func (m Message) String() string {
	return fmt.Sprintf("vulkan %s %s [%s]: %s", m.Kind, m.Severity, m.ID, m.Text)
}

// InstanceOptions configure NewInstance.
type InstanceOptions struct {
	// Validate enables VK_LAYER_KHRONOS_validation. When false, VILT_VK_VALIDATE=1 turns it on.
	Validate bool
	// OnMessage receives every warning and error message from the validation layer, loader or
	// driver. It may be called from any goroutine, during any Vulkan call. When nil,
	// messages are logged through log/slog.
	OnMessage func(Message)
}

// Instance is an open Vulkan instance.
type Instance struct {
	c         *C.vr_instance
	id        uintptr
	validated bool
	onMessage func(Message)

	mu      sync.Mutex
	devices map[*Device]struct{}
	closed  bool

	messages atomic.Int64
}

var (
	instMu    sync.Mutex
	instances = map[uintptr]*Instance{}
	nextInst  uintptr
)

//export viltDebugMessage
func viltDebugMessage(severity, types C.uint32_t, id, msg *C.char, user C.uintptr_t) {
	instMu.Lock()
	inst := instances[uintptr(user)]
	instMu.Unlock()
	m := Message{Severity: Severity(severity), ID: C.GoString(id), Text: C.GoString(msg)}
	switch {
	case types&C.VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT != 0:
		m.Kind = "validation"
	case types&C.VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT != 0:
		m.Kind = "performance"
	default:
		m.Kind = "general"
	}
	if inst == nil {
		slog.Warn(m.String())
		return
	}
	inst.messages.Add(1)
	if inst.onMessage != nil {
		inst.onMessage(m)
		return
	}
	slog.Warn(m.String())
}

// ValidateFromEnv reports whether VILT_VK_VALIDATE asks for the validation layer.
func ValidateFromEnv() bool {
	v := strings.ToLower(os.Getenv("VILT_VK_VALIDATE"))
	return v == "1" || v == "true" || v == "yes" || v == "on"
}

// maxAPIVersion is the newest Vulkan version we ask for.
const maxAPIVersion = (1 << 22) | (3 << 12)

// NewInstance loads the Vulkan loader (once per process) and creates an instance.
func NewInstance(opts InstanceOptions) (*Instance, error) {
	if err := loadLibrary(); err != nil {
		return nil, err
	}
	var ver C.uint32_t
	if err := vkErr("vkEnumerateInstanceVersion", C.vr_instance_version(&ver)); err != nil {
		return nil, fmt.Errorf("vulkan instance: %w", err)
	}
	if uint32(ver) < (1<<22)|(1<<12) {
		return nil, fmt.Errorf("vulkan instance version %s is older than 1.1: %w", versionString(uint32(ver)), ErrNoVulkan)
	}
	api := uint32(ver)
	if api > maxAPIVersion {
		api = maxAPIVersion
	}
	validate := opts.Validate || ValidateFromEnv()
	if validate {
		found, err := layerAvailable("VK_LAYER_KHRONOS_validation")
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("validation requested but VK_LAYER_KHRONOS_validation is not installed (Debian/Ubuntu: apt install vulkan-validationlayers): %w", ErrNoVulkan)
		}
	}
	portability, err := instanceExtAvailable("VK_KHR_portability_enumeration")
	if err != nil {
		return nil, err
	}
	debugUtils, err := instanceExtAvailable("VK_EXT_debug_utils")
	if err != nil {
		return nil, err
	}

	inst := &Instance{validated: validate, onMessage: opts.OnMessage, devices: map[*Device]struct{}{}}
	instMu.Lock()
	nextInst++
	inst.id = nextInst
	instances[inst.id] = inst
	instMu.Unlock()

	inst.c = (*C.vr_instance)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vr_instance{}))))
	level := cbool(validate)
	if validate {
		level = 2 // with synchronization validation where the layer offers it
	}
	r := C.vr_create_instance(inst.c, C.uint32_t(api), level, cbool(portability), cbool(debugUtils),
		C.uintptr_t(inst.id))
	if r == C.VK_ERROR_EXTENSION_NOT_PRESENT && validate {
		r = C.vr_create_instance(inst.c, C.uint32_t(api), 1, cbool(portability), cbool(debugUtils),
			C.uintptr_t(inst.id))
	}
	if err := vkErr("vkCreateInstance", r); err != nil {
		C.free(unsafe.Pointer(inst.c))
		instMu.Lock()
		delete(instances, inst.id)
		instMu.Unlock()
		if r == C.VK_ERROR_INCOMPATIBLE_DRIVER {
			return nil, fmt.Errorf("no Vulkan driver found by the loader (install one, e.g. apt install mesa-vulkan-drivers, or set VK_ICD_FILENAMES): %w", err)
		}
		return nil, fmt.Errorf("create vulkan instance: %w", err)
	}
	track(1)
	return inst, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func layerAvailable(name string) (bool, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var found C.int
	if err := vkErr("vkEnumerateInstanceLayerProperties", C.vr_layer_available(cname, &found)); err != nil {
		return false, err
	}
	return found != 0, nil
}

func instanceExtAvailable(name string) (bool, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var found C.int
	if err := vkErr("vkEnumerateInstanceExtensionProperties", C.vr_instance_ext_available(cname, &found)); err != nil {
		return false, err
	}
	return found != 0, nil
}

// Validated reports whether the validation layer is on for this instance.
func (inst *Instance) Validated() bool { return inst.validated }

// MessageCount is the number of warning/error messages received so far.
func (inst *Instance) MessageCount() int64 { return inst.messages.Load() }

// Close closes every device still open on this instance, then the instance. It is idempotent.
func (inst *Instance) Close() error {
	inst.mu.Lock()
	if inst.closed {
		inst.mu.Unlock()
		return nil
	}
	inst.closed = true
	devs := make([]*Device, 0, len(inst.devices))
	for d := range inst.devices {
		devs = append(devs, d)
	}
	inst.mu.Unlock()
	var first error
	for _, d := range devs {
		if err := d.Close(); err != nil && first == nil {
			first = err
		}
	}
	C.vr_destroy_instance(inst.c)
	C.free(unsafe.Pointer(inst.c))
	inst.c = nil
	track(-1)
	instMu.Lock()
	delete(instances, inst.id)
	instMu.Unlock()
	return first
}

func (inst *Instance) physicalDevices() ([]C.VkPhysicalDevice, error) {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.closed {
		return nil, ErrClosed
	}
	var n C.uint32_t
	if err := vkErr("vkEnumeratePhysicalDevices", C.vr_enumerate_physical_devices(inst.c, &n, nil)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	buf := (*C.VkPhysicalDevice)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.VkPhysicalDevice(nil)))))
	defer C.free(unsafe.Pointer(buf))
	r := C.vr_enumerate_physical_devices(inst.c, &n, buf)
	if r != C.VK_SUCCESS && r != C.VK_INCOMPLETE {
		return nil, vkErr("vkEnumeratePhysicalDevices", r)
	}
	return append([]C.VkPhysicalDevice(nil), unsafe.Slice(buf, int(n))...), nil
}
