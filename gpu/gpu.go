// Package gpu is vilt-vk's thin Vulkan compute runtime: a cgo binding of our own over the
// system Vulkan headers, loaded at run time (dlopen of libvulkan.so.1; LoadLibrary of vulkan-1.dll on Windows), covering only what
// compute needs: instances with optional validation, device discovery and selection, buffers
// suballocated from large memory blocks, pipelines from SPIR-V with specialization and push
// constants, and recorders that put many dispatches into one command buffer with exactly the
// barriers dependent dispatches need, then submit and replay it.
//
// Concurrency: Instance and Device methods are safe for concurrent use by several goroutines
// (allocation, kernel creation, upload/download and submission are serialized internally).
// A Recorder belongs to one goroutine at a time; a Buffer may be shared, but freeing it while
// a recorded command buffer still uses it is the caller's error. Several Devices, on one or
// several Instances, can be open at once and used in parallel.
//
// Environment:
//
//	VILT_VULKAN_LIBRARY  path of the Vulkan loader (default libvulkan.so.1; vulkan-1.dll on Windows)
//	VILT_VK_VALIDATE=1   enable the Khronos validation layer
//	VILT_DEVICE          device index or case-insensitive name substring
//	VILT_CACHE_DIR       where the pipeline cache lives (default: user cache dir/vilt-vk;
//	                     "off" disables it)
//	VILT_FORCE_STAGING=1 never map device memory directly; always go through staging buffers
package gpu

/*
#cgo CFLAGS: -O2 -std=gnu11
#cgo linux LDFLAGS: -ldl
#include "vkbind.h"
*/
import "C"

import "sync/atomic"

// live counts Vulkan objects this package created and has not destroyed yet.
var live atomic.Int64

// LiveObjects reports how many Vulkan objects (instances, devices, memory blocks, pipelines,
// views, pools, command buffers, query pools) are alive. It returns to zero when everything
// has been closed; tests use it to prove Close frees all.
func LiveObjects() int64 { return live.Load() }

func track(n int64) { live.Add(n) }
