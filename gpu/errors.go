package gpu

// #include "vkbind.h"
import "C"

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of them or a *VkError, so
// callers branch with errors.Is / errors.As.
var (
	// ErrNoVulkan: the Vulkan loader library could not be opened or is unusable.
	ErrNoVulkan = errors.New("vulkan loader not available")
	// ErrNoDevice: no physical device matched, or none supports compute.
	ErrNoDevice = errors.New("no usable vulkan device")
	// ErrOutOfDeviceMemory: the device (or its driver's host memory) is exhausted.
	ErrOutOfDeviceMemory = errors.New("out of device memory")
	// ErrDeviceLost: the device was lost; the Device must be closed and reopened.
	ErrDeviceLost = errors.New("vulkan device lost")
	// ErrClosed: the object was used after Close.
	ErrClosed = errors.New("use after close")
	// ErrTooLarge: a binding or buffer exceeds a device limit.
	ErrTooLarge = errors.New("exceeds device limit")
	// ErrValidation: the validation layer reported a problem (only with validation on).
	ErrValidation = errors.New("vulkan validation message")
)

// VkError is a failing VkResult from a named Vulkan call.
type VkError struct {
	Op     string
	Result int32
}

func (e *VkError) Error() string {
	return fmt.Sprintf("%s: %s (VkResult %d)", e.Op, resultName(e.Result), e.Result)
}

// Unwrap maps the result onto this package's sentinels.
func (e *VkError) Unwrap() error {
	switch e.Result {
	case C.VK_ERROR_OUT_OF_DEVICE_MEMORY, C.VK_ERROR_OUT_OF_HOST_MEMORY, C.VK_ERROR_OUT_OF_POOL_MEMORY,
		C.VK_ERROR_FRAGMENTED_POOL, C.VK_ERROR_TOO_MANY_OBJECTS:
		return ErrOutOfDeviceMemory
	case C.VK_ERROR_DEVICE_LOST:
		return ErrDeviceLost
	case C.VK_ERROR_INCOMPATIBLE_DRIVER, C.VK_ERROR_INITIALIZATION_FAILED:
		return ErrNoVulkan
	}
	return nil
}

func vkErr(op string, r C.VkResult) error {
	if r == C.VK_SUCCESS {
		return nil
	}
	return &VkError{Op: op, Result: int32(r)}
}

func resultName(r int32) string {
	switch r {
	case C.VK_SUCCESS:
		return "VK_SUCCESS"
	case C.VK_NOT_READY:
		return "VK_NOT_READY"
	case C.VK_TIMEOUT:
		return "VK_TIMEOUT"
	case C.VK_INCOMPLETE:
		return "VK_INCOMPLETE"
	case C.VK_ERROR_OUT_OF_HOST_MEMORY:
		return "VK_ERROR_OUT_OF_HOST_MEMORY"
	case C.VK_ERROR_OUT_OF_DEVICE_MEMORY:
		return "VK_ERROR_OUT_OF_DEVICE_MEMORY"
	case C.VK_ERROR_INITIALIZATION_FAILED:
		return "VK_ERROR_INITIALIZATION_FAILED"
	case C.VK_ERROR_DEVICE_LOST:
		return "VK_ERROR_DEVICE_LOST"
	case C.VK_ERROR_MEMORY_MAP_FAILED:
		return "VK_ERROR_MEMORY_MAP_FAILED"
	case C.VK_ERROR_LAYER_NOT_PRESENT:
		return "VK_ERROR_LAYER_NOT_PRESENT"
	case C.VK_ERROR_EXTENSION_NOT_PRESENT:
		return "VK_ERROR_EXTENSION_NOT_PRESENT"
	case C.VK_ERROR_FEATURE_NOT_PRESENT:
		return "VK_ERROR_FEATURE_NOT_PRESENT"
	case C.VK_ERROR_INCOMPATIBLE_DRIVER:
		return "VK_ERROR_INCOMPATIBLE_DRIVER"
	case C.VK_ERROR_TOO_MANY_OBJECTS:
		return "VK_ERROR_TOO_MANY_OBJECTS"
	case C.VK_ERROR_FORMAT_NOT_SUPPORTED:
		return "VK_ERROR_FORMAT_NOT_SUPPORTED"
	case C.VK_ERROR_FRAGMENTED_POOL:
		return "VK_ERROR_FRAGMENTED_POOL"
	case C.VK_ERROR_OUT_OF_POOL_MEMORY:
		return "VK_ERROR_OUT_OF_POOL_MEMORY"
	}
	return "VkResult"
}
