package gpu

// #include <stdlib.h>
// #include "vkbind.h"
import "C"

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"
)

// DeviceOptions configure OpenDevice.
type DeviceOptions struct {
	// BlockSize is the size of the memory blocks buffers are suballocated from
	// (default 64 MiB). Larger buffers get a block of their own.
	BlockSize uint64
	// StagingSize is the chunk size for uploads and downloads through staging memory
	// (default 16 MiB).
	StagingSize uint64
	// ForceStaging disables direct mapping of device memory even where it is host visible.
	// VILT_FORCE_STAGING=1 sets it too.
	ForceStaging bool
	// PipelineCacheDir overrides where the pipeline cache file lives; "off" disables it.
	// Default: VILT_CACHE_DIR, else the user cache dir + "/vilt-vk".
	PipelineCacheDir string
}

// Device is an open logical device with one compute queue.
type Device struct {
	inst    *Instance
	ownInst bool
	info    DeviceInfo
	pd      C.VkPhysicalDevice
	cinfo   *C.vr_devinfo
	c       *C.vr_device
	opts    DeviceOptions

	mem *allocator

	qmu     sync.Mutex // guards the queue and pending
	pending []*Recorder

	xmu  sync.Mutex // guards the transfer command and staging buffers
	xfer *command
	stg  *stagingBuffer

	rmu       sync.Mutex
	recorders map[*Recorder]struct{}

	kmu     sync.Mutex
	kernels map[string]*Kernel
	cache   *pipelineCache

	closeMu sync.Mutex
	closed  bool
}

// OpenDevice opens the physical device with the given index (see Devices and Select).
// Several logical devices, even on one physical device, may be open at once.
func (inst *Instance) OpenDevice(index int, opts DeviceOptions) (*Device, error) {
	pds, err := inst.physicalDevices()
	if err != nil {
		return nil, fmt.Errorf("open device %d: %w", index, err)
	}
	if index < 0 || index >= len(pds) {
		return nil, fmt.Errorf("open device %d: %w: %d device(s) present", index, ErrNoDevice, len(pds))
	}
	d := &Device{inst: inst, pd: pds[index], opts: opts, kernels: map[string]*Kernel{}, recorders: map[*Recorder]struct{}{}}
	if d.opts.BlockSize == 0 {
		d.opts.BlockSize = 64 << 20
	}
	if d.opts.StagingSize == 0 {
		d.opts.StagingSize = 16 << 20
	}
	if os.Getenv("VILT_FORCE_STAGING") == "1" {
		d.opts.ForceStaging = true
	}
	d.cinfo = (*C.vr_devinfo)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vr_devinfo{}))))
	if err := vkErr("query device", C.vr_device_info(inst.c, d.pd, d.cinfo)); err != nil {
		C.free(unsafe.Pointer(d.cinfo))
		return nil, fmt.Errorf("open device %d: %w", index, err)
	}
	d.info = fromC(index, d.cinfo)
	if d.info.ComputeQueueFamily < 0 {
		C.free(unsafe.Pointer(d.cinfo))
		return nil, fmt.Errorf("open device %d (%s): %w: no compute queue", index, d.info.Name, ErrNoDevice)
	}
	d.c = (*C.vr_device)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vr_device{}))))
	if err := vkErr("vkCreateDevice", C.vr_create_device(inst.c, d.pd, d.cinfo, d.c)); err != nil {
		C.free(unsafe.Pointer(d.c))
		C.free(unsafe.Pointer(d.cinfo))
		return nil, fmt.Errorf("open device %d (%s): %w", index, d.info.Name, err)
	}
	track(1)
	d.mem, err = newAllocator(d)
	if err == nil {
		d.xfer, err = d.newCommand()
	}
	if err == nil {
		d.cache, err = openPipelineCache(d)
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("open device %d (%s): %w", index, d.info.Name, err)
	}
	inst.mu.Lock()
	if inst.closed {
		inst.mu.Unlock()
		d.Close()
		return nil, ErrClosed
	}
	inst.devices[d] = struct{}{}
	inst.mu.Unlock()
	return d, nil
}

// Options configure Open.
type Options struct {
	Instance InstanceOptions
	Device   DeviceOptions
	// Selector chooses the device: see Select. Empty means VILT_DEVICE, else the default.
	Selector string
}

// Open is the one-call way to get a device: it creates an instance, selects a device and
// opens it. Closing the device closes the instance too.
func Open(opts Options) (*Device, error) {
	inst, idx, err := selectOnNewInstance(opts)
	if err != nil {
		return nil, err
	}
	d, err := inst.OpenDevice(idx[0], opts.Device)
	if err != nil {
		inst.Close()
		return nil, err
	}
	d.ownInst = true
	return d, nil
}

// OpenAll opens every device opts.Selector names (e.g. "all", "0,1") on one new instance.
// CloseAll closes them and the instance.
func OpenAll(opts Options) ([]*Device, error) {
	inst, idx, err := selectOnNewInstance(opts)
	if err != nil {
		return nil, err
	}
	var out []*Device
	for _, i := range idx {
		d, err := inst.OpenDevice(i, opts.Device)
		if err != nil {
			inst.Close()
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// CloseAll closes devices and then the instances they were opened on.
func CloseAll(devs []*Device) {
	var insts []*Instance
	for _, d := range devs {
		insts = append(insts, d.Instance())
		d.Close()
	}
	seen := map[*Instance]bool{}
	for _, i := range insts {
		if !seen[i] {
			seen[i] = true
			i.Close()
		}
	}
}

// selectOnNewInstance creates an instance and picks the device indices opts.Selector names.
func selectOnNewInstance(opts Options) (*Instance, []int, error) {
	inst, err := NewInstance(opts.Instance)
	if err != nil {
		return nil, nil, err
	}
	devs, err := inst.Devices()
	if err != nil {
		inst.Close()
		return nil, nil, err
	}
	idx, err := Select(devs, opts.Selector)
	if err != nil {
		inst.Close()
		return nil, nil, err
	}
	return inst, idx, nil
}

// Info describes the physical device.
func (d *Device) Info() DeviceInfo { return d.info }

// Instance is the instance the device was opened on.
func (d *Device) Instance() *Instance { return d.inst }

// MemoryStats reports buffer bytes in use now, the peak since opening (or ResetPeak), and
// the bytes of device memory reserved in blocks.
type MemoryStats struct {
	Used, Peak, Reserved uint64
	Blocks               int
}

// MemoryStats returns the current memory accounting.
func (d *Device) MemoryStats() MemoryStats { return d.mem.stats() }

// ResetPeak sets the peak to the current use.
func (d *Device) ResetPeak() { d.mem.resetPeak() }

// HostMapped reports whether buffers are mapped directly (no staging copies).
func (d *Device) HostMapped() bool { return d.mem.mapped }

func (d *Device) isClosed() bool {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	return d.closed
}

// Close waits for outstanding work, saves the pipeline cache and frees every object the
// device owns. It is idempotent.
func (d *Device) Close() error {
	d.closeMu.Lock()
	if d.closed {
		d.closeMu.Unlock()
		return nil
	}
	d.closed = true
	d.closeMu.Unlock()

	var first error
	if d.c != nil && d.c.device != nil {
		C.vr_destroy_device_wait(d.c)
	}
	d.qmu.Lock()
	for _, r := range d.pending {
		r.inflight = false
	}
	d.pending = nil
	d.qmu.Unlock()
	d.rmu.Lock()
	recs := d.recorders
	d.recorders = map[*Recorder]struct{}{}
	d.rmu.Unlock()
	for r := range recs {
		r.release()
	}
	d.kmu.Lock()
	for _, k := range d.kernels {
		k.destroy()
	}
	d.kernels = nil
	d.kmu.Unlock()
	if d.cache != nil {
		if err := d.cache.close(); err != nil && first == nil {
			first = err
		}
	}
	d.xmu.Lock()
	if d.stg != nil {
		d.stg.destroy(d)
		d.stg = nil
	}
	if d.xfer != nil {
		d.xfer.destroy(d)
		d.xfer = nil
	}
	d.xmu.Unlock()
	if d.mem != nil {
		d.mem.destroy()
	}
	if d.c != nil {
		if d.c.device != nil {
			C.vr_destroy_device(d.c)
			track(-1)
		}
		C.free(unsafe.Pointer(d.c))
		d.c = nil
	}
	if d.cinfo != nil {
		C.free(unsafe.Pointer(d.cinfo))
		d.cinfo = nil
	}
	d.inst.mu.Lock()
	delete(d.inst.devices, d)
	d.inst.mu.Unlock()
	if d.ownInst {
		if err := d.inst.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// command is a command pool with one primary command buffer and its fence.
type command struct {
	pool  C.VkCommandPool
	cb    C.VkCommandBuffer
	fence C.VkFence
}

func (d *Device) newCommand() (*command, error) {
	c := &command{}
	if err := vkErr("create command buffer", C.vr_create_command(d.c, &c.pool, &c.cb, &c.fence)); err != nil {
		return nil, err
	}
	track(1)
	return c, nil
}

func (c *command) destroy(d *Device) {
	C.vr_destroy_command(d.c, c.pool, c.cb, c.fence)
	track(-1)
}

// waitFence waits for a fence, checking ctx between short waits so a cancelled context
// returns promptly. It returns ctx.Err() on cancellation; the work continues on the device.
func (d *Device) waitFence(ctx context.Context, f C.VkFence) error {
	const slice = uint64(20 * time.Millisecond)
	for {
		r := C.vr_wait(d.c, f, C.uint64_t(slice))
		switch r {
		case C.VK_SUCCESS:
			return nil
		case C.VK_TIMEOUT:
			if err := ctx.Err(); err != nil {
				return err
			}
		default:
			return vkErr("vkWaitForFences", r)
		}
	}
}

// drainLocked waits for work whose submitter gave up (cancelled context). qmu must be held.
func (d *Device) drainLocked() error {
	for len(d.pending) > 0 {
		r := d.pending[0]
		if err := d.waitFence(context.Background(), r.cmd.fence); err != nil {
			return err
		}
		r.inflight = false
		d.pending = d.pending[1:]
	}
	return nil
}

// WaitIdle waits until the device has finished all submitted work.
func (d *Device) WaitIdle() error {
	d.qmu.Lock()
	defer d.qmu.Unlock()
	if d.isClosed() {
		return ErrClosed
	}
	return d.drainLocked()
}
