package gpu

// #include <stdlib.h>
// #include "vkbind.h"
import "C"

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/vilt-vk/vilt-vk/internal/atomicrename"
)

// pipelineCache is a VkPipelineCache persisted on disk, keyed by the device UUID, the driver
// UUID and version and the pipelineCacheUUID, so a driver update never sees another driver's
// blob.
type pipelineCache struct {
	d      *Device
	handle C.VkPipelineCache
	path   string
}

func cacheDir(opt string) string {
	if opt != "" {
		return opt
	}
	if v := os.Getenv("VILT_CACHE_DIR"); v != "" {
		return v
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "off"
	}
	return filepath.Join(dir, "vilt-vk")
}

func openPipelineCache(d *Device) (*pipelineCache, error) {
	pc := &pipelineCache{d: d}
	dir := cacheDir(d.opts.PipelineCacheDir)
	if dir != "off" {
		// The device name is in the key too: lavapipe reports the same UUIDs at every
		// LP_NATIVE_VECTOR_WIDTH, but its name (and subgroup size) changes with it.
		name := sha256.Sum256([]byte(d.info.Name))
		pc.path = filepath.Join(dir, fmt.Sprintf("pipelines-%s-%s-%08x-%s-%x.bin",
			d.info.DeviceUUID, d.info.DriverUUID, d.info.driverVersion, d.info.PipelineCacheUUID, name[:4]))
	}
	var data []byte
	if pc.path != "" {
		if b, err := os.ReadFile(pc.path); err == nil && pc.headerMatches(b) {
			data = b
		}
	}
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = C.CBytes(data)
		defer C.free(ptr)
	}
	r := C.vr_create_pipeline_cache(d.c, ptr, C.size_t(len(data)), &pc.handle)
	if r != C.VK_SUCCESS && len(data) > 0 {
		// A blob the driver rejects is a cache miss, not an error.
		r = C.vr_create_pipeline_cache(d.c, nil, 0, &pc.handle)
	}
	if err := vkErr("vkCreatePipelineCache", r); err != nil {
		return nil, err
	}
	track(1)
	return pc, nil
}

// headerMatches checks the VkPipelineCacheHeaderVersionOne written by the driver.
func (pc *pipelineCache) headerMatches(b []byte) bool {
	if len(b) < 32 {
		return false
	}
	hlen := binary.LittleEndian.Uint32(b[0:])
	ver := binary.LittleEndian.Uint32(b[4:])
	vendor := binary.LittleEndian.Uint32(b[8:])
	device := binary.LittleEndian.Uint32(b[12:])
	uuid := C.GoBytes(unsafe.Pointer(&pc.d.cinfo.props.pipelineCacheUUID[0]), C.VK_UUID_SIZE)
	return hlen >= 32 && ver == 1 && vendor == pc.d.info.VendorID && device == pc.d.info.DeviceID && bytes.Equal(b[16:32], uuid)
}

// close writes the cache file atomically (temp file then rename) and destroys the cache.
func (pc *pipelineCache) close() error {
	defer func() {
		C.vr_destroy_pipeline_cache(pc.d.c, pc.handle)
		track(-1)
	}()
	if pc.path == "" {
		return nil
	}
	var n C.size_t
	if C.vr_pipeline_cache_data(pc.d.c, pc.handle, &n, nil) != C.VK_SUCCESS || n == 0 {
		return nil
	}
	buf := C.malloc(n)
	defer C.free(buf)
	if C.vr_pipeline_cache_data(pc.d.c, pc.handle, &n, buf) != C.VK_SUCCESS {
		return nil
	}
	data := C.GoBytes(buf, C.int(n))
	if err := os.MkdirAll(filepath.Dir(pc.path), 0o755); err != nil {
		slog.Debug("pipeline cache not saved", "err", err)
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(pc.path), ".pipelines-*")
	if err != nil {
		slog.Debug("pipeline cache not saved", "err", err)
		return nil
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return nil
	}
	if err := atomicrename.Rename(tmp.Name(), pc.path); err != nil {
		os.Remove(tmp.Name())
	}
	return nil
}
