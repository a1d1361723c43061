package gpu

// #include <stdlib.h>
// #include "vkbind.h"
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"
)

// LoaderError says why the Vulkan loader could not be used. It wraps ErrNoVulkan.
type LoaderError struct {
	Path   string
	Reason string
}

func (e *LoaderError) Error() string {
	hint := "install the Vulkan loader and a driver, e.g. Debian/Ubuntu: apt install libvulkan1 mesa-vulkan-drivers; or point VILT_VULKAN_LIBRARY at libvulkan"
	if runtime.GOOS == "windows" {
		hint = "vulkan-1.dll comes with the GPU driver: install or update the NVIDIA, AMD or Intel driver; or point VILT_VULKAN_LIBRARY at vulkan-1.dll"
	}
	return fmt.Sprintf("cannot load Vulkan loader %s: %s (%s)", e.Path, e.Reason, hint)
}

func (e *LoaderError) Unwrap() error { return ErrNoVulkan }

// loadMu serializes opening the loader. The loader stays mapped for the life of the process:
// unloading it while a driver's worker threads may still run is not safe.
var loadMu sync.Mutex

// defaultLibrary is the loader's name on this OS.
func defaultLibrary() string {
	switch runtime.GOOS {
	case "darwin":
		return "libvulkan.1.dylib"
	case "windows":
		return "vulkan-1.dll" // from System32 only (see vkbind.c)
	}
	return "libvulkan.so.1"
}

// LibraryPath is the loader path that will be (or was) opened.
func LibraryPath() string {
	if p := os.Getenv("VILT_VULKAN_LIBRARY"); p != "" {
		return p
	}
	return defaultLibrary()
}

// loadLibrary opens the Vulkan loader once per process. A failed attempt is retried on the
// next call, so a later fix of VILT_VULKAN_LIBRARY takes effect.
func loadLibrary() error {
	loadMu.Lock()
	defer loadMu.Unlock()
	if C.vr_library_loaded() != 0 {
		return nil
	}
	path := LibraryPath()
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if msg := C.vr_open(cpath); msg != nil {
		return &LoaderError{Path: path, Reason: C.GoString(msg)}
	}
	return nil
}

// InstanceVersion reports the loader's Vulkan instance version (e.g. "1.3.239").
func InstanceVersion() (string, error) {
	if err := loadLibrary(); err != nil {
		return "", err
	}
	var v C.uint32_t
	if err := vkErr("vkEnumerateInstanceVersion", C.vr_instance_version(&v)); err != nil {
		return "", err
	}
	return versionString(uint32(v)), nil
}

func versionString(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", (v>>22)&0x7f, (v>>12)&0x3ff, v&0xfff)
}
