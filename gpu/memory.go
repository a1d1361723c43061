package gpu

// #include "vkbind.h"
import "C"

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"unsafe"
)

// block is one VkDeviceMemory allocation with a VkBuffer covering all of it; Buffers are
// spans of a block.
type block struct {
	buf       C.VkBuffer
	mem       C.VkDeviceMemory
	size      uint64
	mapped    unsafe.Pointer // nil unless the memory is host visible and mapped
	free      []span         // sorted by offset, coalesced
	dedicated bool
}

type span struct{ off, size uint64 }

// allocator suballocates buffers from large blocks of one memory type.
type allocator struct {
	d        *Device
	mu       sync.Mutex
	blocks   []*block
	typeIdx  uint32
	mapped   bool
	coherent bool
	align    uint64

	used, peak, reserved uint64
	closed               bool

	vmu    sync.Mutex
	viewed map[*Buffer]struct{} // buffers holding texel views, destroyed with the device
}

const (
	memDeviceLocal  = C.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
	memHostVisible  = C.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
	memHostCoherent = C.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
	memHostCached   = C.VK_MEMORY_PROPERTY_HOST_CACHED_BIT
)

// findMemoryType returns the first allowed type having all of want, preferring those that
// also have prefer.
func (d *Device) findMemoryType(bits uint32, want, prefer uint32) (uint32, uint32, bool) {
	mp := &d.cinfo.mem
	best, bestFlags, found := uint32(0), uint32(0), false
	for i := uint32(0); i < uint32(mp.memoryTypeCount); i++ {
		if bits&(1<<i) == 0 {
			continue
		}
		f := uint32(mp.memoryTypes[i].propertyFlags)
		if f&want != want {
			continue
		}
		if !found || (f&prefer == prefer && bestFlags&prefer != prefer) {
			best, bestFlags, found = i, f, true
		}
	}
	return best, bestFlags, found
}

func (d *Device) bufferTypeBits() (uint32, error) {
	var bits C.uint32_t
	if err := vkErr("vkCreateBuffer", C.vr_buffer_type_bits(d.c, &bits)); err != nil {
		return 0, err
	}
	return uint32(bits), nil
}

func newAllocator(d *Device) (*allocator, error) {
	bits, err := d.bufferTypeBits()
	if err != nil {
		return nil, err
	}
	a := &allocator{d: d}
	uma := d.info.Type == TypeCPU || d.info.Type == TypeIntegrated
	var flags uint32
	found := false
	if uma && !d.opts.ForceStaging {
		a.typeIdx, flags, found = d.findMemoryType(bits, memDeviceLocal|memHostVisible, memHostCoherent)
		if found {
			a.mapped = true
		}
	}
	if !found {
		a.typeIdx, flags, found = d.findMemoryType(bits, memDeviceLocal, 0)
	}
	if !found {
		a.typeIdx, flags, found = d.findMemoryType(bits, 0, 0)
	}
	if !found {
		return nil, fmt.Errorf("%w: no memory type for storage buffers", ErrNoDevice)
	}
	a.coherent = flags&memHostCoherent != 0
	l := d.info.Limits
	a.align = 16
	for _, v := range []uint64{l.MinStorageBufferOffsetAlignment, l.MinTexelBufferOffsetAlignment} {
		if v > a.align {
			a.align = v
		}
	}
	if a.mapped && !a.coherent && l.NonCoherentAtomSize > a.align {
		a.align = l.NonCoherentAtomSize
	}
	return a, nil
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) / a * a }

func (a *allocator) newBlock(size uint64, dedicated bool) (*block, error) {
	b := &block{size: size, dedicated: dedicated}
	var mapped *unsafe.Pointer
	if a.mapped {
		mapped = &b.mapped
	}
	r := C.vr_create_buffer(a.d.c, C.VkDeviceSize(size), C.uint32_t(a.typeIdx), &b.buf, &b.mem, mapped)
	if err := vkErr("allocate device memory", r); err != nil {
		return nil, fmt.Errorf("allocate %d-byte block: %w", size, err)
	}
	track(1)
	b.free = []span{{0, size}}
	a.reserved += size
	a.blocks = append(a.blocks, b)
	return b, nil
}

func (a *allocator) destroyBlock(b *block) {
	C.vr_destroy_buffer(a.d.c, b.buf, b.mem, cbool(b.mapped != nil))
	track(-1)
	a.reserved -= b.size
	for i, x := range a.blocks {
		if x == b {
			a.blocks = append(a.blocks[:i], a.blocks[i+1:]...)
			break
		}
	}
}

// take carves size bytes out of b's free list (first fit); ok is false when nothing fits.
func (b *block) take(size uint64) (uint64, bool) {
	for i, s := range b.free {
		if s.size >= size {
			off := s.off
			if s.size == size {
				b.free = append(b.free[:i], b.free[i+1:]...)
			} else {
				b.free[i] = span{s.off + size, s.size - size}
			}
			return off, true
		}
	}
	return 0, false
}

// give returns a span to the free list, merging neighbours.
func (b *block) give(off, size uint64) {
	i := sort.Search(len(b.free), func(i int) bool { return b.free[i].off > off })
	b.free = append(b.free, span{})
	copy(b.free[i+1:], b.free[i:])
	b.free[i] = span{off, size}
	if i+1 < len(b.free) && b.free[i].off+b.free[i].size == b.free[i+1].off {
		b.free[i].size += b.free[i+1].size
		b.free = append(b.free[:i+1], b.free[i+2:]...)
	}
	if i > 0 && b.free[i-1].off+b.free[i-1].size == b.free[i].off {
		b.free[i-1].size += b.free[i].size
		b.free = append(b.free[:i], b.free[i+1:]...)
	}
}

func (b *block) empty() bool {
	return len(b.free) == 1 && b.free[0].off == 0 && b.free[0].size == b.size
}

// Buffer is a span of device memory. Create with Device.Alloc, release with Free.
type Buffer struct {
	a     *allocator
	blk   *block
	off   uint64
	size  uint64 // requested size
	asize uint64 // aligned size taken from the block

	mu    sync.Mutex
	views map[viewKey]C.VkBufferView
	freed bool
}

type viewKey struct {
	off, size uint64
	half      bool
}

// Alloc allocates a device buffer of size bytes (contents undefined).
func (d *Device) Alloc(size uint64) (*Buffer, error) {
	if size == 0 {
		return nil, fmt.Errorf("alloc: zero-size buffer")
	}
	a := d.mem
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrClosed
	}
	asize := alignUp(size, a.align)
	var blk *block
	var off uint64
	if asize > d.opts.BlockSize/2 {
		b, err := a.newBlock(asize, true)
		if err != nil {
			return nil, err
		}
		blk, off = b, 0
		b.free = nil
	} else {
		for _, b := range a.blocks {
			if b.dedicated {
				continue
			}
			if o, ok := b.take(asize); ok {
				blk, off = b, o
				break
			}
		}
		if blk == nil {
			b, err := a.newBlock(d.opts.BlockSize, false)
			if err != nil {
				return nil, err
			}
			off, _ = b.take(asize)
			blk = b
		}
	}
	a.used += asize
	if a.used > a.peak {
		a.peak = a.used
	}
	return &Buffer{a: a, blk: blk, off: off, size: size, asize: asize}, nil
}

// Size is the buffer's size in bytes as requested.
func (b *Buffer) Size() uint64 { return b.size }

// Free releases the buffer's memory. It is idempotent. The caller must ensure no submitted
// work still uses the buffer.
func (b *Buffer) Free() {
	b.mu.Lock()
	if b.freed {
		b.mu.Unlock()
		return
	}
	b.freed = true
	views := b.views
	b.views = nil
	b.mu.Unlock()
	a := b.a
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return // the device is gone and took everything with it
	}
	for _, v := range views {
		C.vr_destroy_buffer_view(a.d.c, v)
		track(-1)
	}
	a.vmu.Lock()
	delete(a.viewed, b)
	a.vmu.Unlock()
	a.used -= b.asize
	if b.blk.dedicated {
		a.destroyBlock(b.blk)
		return
	}
	b.blk.give(b.off, b.asize)
}

// texelView returns (creating once) an RGBA32F view of [off, off+size) of the buffer, or an
// RGBA16F one (8-byte texels) with half.
func (b *Buffer) texelView(off, size uint64, half bool) (C.VkBufferView, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.freed {
		return nil, fmt.Errorf("texel view: %w (buffer freed)", ErrClosed)
	}
	k := viewKey{off, size, half}
	if v, ok := b.views[k]; ok {
		return v, nil
	}
	d := b.a.d
	lim := d.info.Limits
	texel, format, name := uint64(16), uint32(C.VK_FORMAT_R32G32B32A32_SFLOAT), "RGBA32F"
	if half {
		texel, format, name = 8, C.VK_FORMAT_R16G16B16A16_SFLOAT, "RGBA16F"
		if !d.info.Features.UniformTexelRGBA16F {
			return nil, fmt.Errorf("texel view: the device cannot read RGBA16F uniform texel buffers")
		}
	}
	if size%texel != 0 {
		return nil, fmt.Errorf("texel view of %d bytes: not a multiple of %d (%s)", size, texel, name)
	}
	if size/texel > lim.MaxTexelBufferElements {
		return nil, fmt.Errorf("texel view of %d texels: %w (maxTexelBufferElements %d)", size/texel, ErrTooLarge, lim.MaxTexelBufferElements)
	}
	if (b.off+off)%lim.MinTexelBufferOffsetAlignment != 0 {
		return nil, fmt.Errorf("texel view offset %d not aligned to %d", off, lim.MinTexelBufferOffsetAlignment)
	}
	var v C.VkBufferView
	r := C.vr_create_buffer_view(d.c, b.blk.buf, C.VkFormat(format), C.VkDeviceSize(b.off+off), C.VkDeviceSize(size), &v)
	if err := vkErr("vkCreateBufferView", r); err != nil {
		return nil, err
	}
	track(1)
	if b.views == nil {
		b.views = map[viewKey]C.VkBufferView{}
	}
	b.views[k] = v
	b.a.vmu.Lock()
	if b.a.viewed == nil {
		b.a.viewed = map[*Buffer]struct{}{}
	}
	b.a.viewed[b] = struct{}{}
	b.a.vmu.Unlock()
	return v, nil
}

func (a *allocator) stats() MemoryStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return MemoryStats{Used: a.used, Peak: a.peak, Reserved: a.reserved, Blocks: len(a.blocks)}
}

func (a *allocator) resetPeak() {
	a.mu.Lock()
	a.peak = a.used
	a.mu.Unlock()
}

func (a *allocator) destroy() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.vmu.Lock()
	viewed := a.viewed
	a.viewed = nil
	a.vmu.Unlock()
	for b := range viewed {
		b.mu.Lock()
		for _, v := range b.views {
			C.vr_destroy_buffer_view(a.d.c, v)
			track(-1)
		}
		b.views = nil
		b.mu.Unlock()
	}
	for len(a.blocks) > 0 {
		a.destroyBlock(a.blocks[0])
	}
	a.closed = true
}

// Binding is a byte range of a buffer handed to a kernel.
type Binding struct {
	Buf        *Buffer
	Off, Bytes uint64
}

// Whole binds all of the buffer.
func (b *Buffer) Whole() Binding { return Binding{Buf: b, Bytes: b.size} }

// Range binds bytes [off, off+n) of the buffer. The offset must respect the device's
// minStorageBufferOffsetAlignment (checked when recorded).
func (b *Buffer) Range(off, n uint64) Binding { return Binding{Buf: b, Off: off, Bytes: n} }

func (bd Binding) check() error {
	if bd.Buf == nil {
		return fmt.Errorf("nil buffer in binding")
	}
	if bd.Bytes == 0 || bd.Off+bd.Bytes > bd.Buf.size || bd.Off+bd.Bytes < bd.Off {
		return fmt.Errorf("binding [%d,+%d) outside buffer of %d bytes", bd.Off, bd.Bytes, bd.Buf.size)
	}
	return nil
}

// stagingBuffer is host-visible memory for chunked transfers.
type stagingBuffer struct {
	buf      C.VkBuffer
	mem      C.VkDeviceMemory
	size     uint64
	ptr      unsafe.Pointer
	coherent bool
}

func (d *Device) staging() (*stagingBuffer, error) {
	if d.stg != nil {
		return d.stg, nil
	}
	bits, err := d.bufferTypeBits()
	if err != nil {
		return nil, err
	}
	idx, flags, ok := d.findMemoryType(bits, memHostVisible|memHostCoherent, memHostCached)
	if !ok {
		idx, flags, ok = d.findMemoryType(bits, memHostVisible, memHostCached)
	}
	if !ok {
		return nil, fmt.Errorf("%w: no host-visible memory for staging", ErrNoDevice)
	}
	s := &stagingBuffer{size: d.opts.StagingSize, coherent: flags&memHostCoherent != 0}
	r := C.vr_create_buffer(d.c, C.VkDeviceSize(s.size), C.uint32_t(idx), &s.buf, &s.mem, &s.ptr)
	if err := vkErr("allocate staging memory", r); err != nil {
		return nil, err
	}
	track(1)
	d.stg = s
	return s, nil
}

func (s *stagingBuffer) destroy(d *Device) {
	C.vr_destroy_buffer(d.c, s.buf, s.mem, 1)
	track(-1)
}

func (d *Device) checkRange(b *Buffer, off, n uint64) error {
	if b == nil {
		return fmt.Errorf("nil buffer")
	}
	if b.a.d != d {
		return fmt.Errorf("buffer belongs to another device")
	}
	if off+n > b.size || off+n < off {
		return fmt.Errorf("range [%d,+%d) outside buffer of %d bytes", off, n, b.size)
	}
	b.mu.Lock()
	freed := b.freed
	b.mu.Unlock()
	if freed {
		return fmt.Errorf("buffer: %w (freed)", ErrClosed)
	}
	return nil
}

// flushRange makes host writes visible (or device writes readable) for non-coherent maps.
func (d *Device) flushRange(b *Buffer, off, n uint64, invalidate bool) error {
	if d.mem.coherent || n == 0 {
		return nil
	}
	atom := d.info.Limits.NonCoherentAtomSize
	if atom == 0 {
		atom = 1
	}
	start := (b.off + off) / atom * atom
	end := alignUp(b.off+off+n, atom)
	if end > b.blk.size {
		end = b.blk.size
	}
	return vkErr("flush mapped memory", C.vr_flush(d.c, b.blk.mem, C.VkDeviceSize(start), C.VkDeviceSize(end-start), cbool(invalidate)))
}

// Upload copies data into b at byte offset off. It waits for any abandoned in-flight work
// first; work the caller submits afterwards sees the data.
func (d *Device) Upload(ctx context.Context, b *Buffer, off uint64, data []byte) error {
	return d.UploadFrom(ctx, b, off, &byteReader{data: data}, uint64(len(data)))
}

type byteReader struct {
	data []byte
}

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// UploadFrom streams n bytes from r into b at offset off without holding a second full copy
// in memory: directly into mapped device memory where possible, else in staging-sized chunks.
func (d *Device) UploadFrom(ctx context.Context, b *Buffer, off uint64, r io.Reader, n uint64) error {
	if err := d.checkRange(b, off, n); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if n == 0 {
		return nil
	}
	if err := d.WaitIdle(); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if d.mem.mapped {
		dst := unsafe.Slice((*byte)(unsafe.Add(b.blk.mapped, b.off+off)), n)
		if _, err := io.ReadFull(r, dst); err != nil {
			return fmt.Errorf("upload: read source: %w", err)
		}
		return d.flushRange(b, off, n, false)
	}
	d.xmu.Lock()
	defer d.xmu.Unlock()
	s, err := d.staging()
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	for done := uint64(0); done < n; {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := min(n-done, s.size)
		if _, err := io.ReadFull(r, unsafe.Slice((*byte)(s.ptr), chunk)); err != nil {
			return fmt.Errorf("upload: read source: %w", err)
		}
		if !s.coherent {
			if err := vkErr("flush staging", C.vr_flush(d.c, s.mem, 0, C.VK_WHOLE_SIZE, 0)); err != nil {
				return err
			}
		}
		if err := d.transfer(ctx, func(cb C.VkCommandBuffer) {
			C.vr_record_copy(d.c, cb, s.buf, 0, b.blk.buf, C.VkDeviceSize(b.off+off+done), C.VkDeviceSize(chunk))
		}); err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		done += chunk
	}
	return nil
}

// Download copies len(dst) bytes from b at offset off into dst, after all submitted work.
func (d *Device) Download(ctx context.Context, b *Buffer, off uint64, dst []byte) error {
	n := uint64(len(dst))
	if err := d.checkRange(b, off, n); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if n == 0 {
		return nil
	}
	if err := d.WaitIdle(); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if d.mem.mapped {
		if err := d.flushRange(b, off, n, true); err != nil {
			return err
		}
		copy(dst, unsafe.Slice((*byte)(unsafe.Add(b.blk.mapped, b.off+off)), n))
		return nil
	}
	d.xmu.Lock()
	defer d.xmu.Unlock()
	s, err := d.staging()
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	for done := uint64(0); done < n; {
		chunk := min(n-done, s.size)
		if err := d.transfer(ctx, func(cb C.VkCommandBuffer) {
			C.vr_record_copy(d.c, cb, b.blk.buf, C.VkDeviceSize(b.off+off+done), s.buf, 0, C.VkDeviceSize(chunk))
			C.vr_record_barrier(d.c, cb, C.VK_PIPELINE_STAGE_TRANSFER_BIT, C.VK_ACCESS_TRANSFER_WRITE_BIT,
				C.VK_PIPELINE_STAGE_HOST_BIT, C.VK_ACCESS_HOST_READ_BIT)
		}); err != nil {
			return fmt.Errorf("download: %w", err)
		}
		if !s.coherent {
			if err := vkErr("invalidate staging", C.vr_flush(d.c, s.mem, 0, C.VK_WHOLE_SIZE, 1)); err != nil {
				return err
			}
		}
		copy(dst[done:done+chunk], unsafe.Slice((*byte)(s.ptr), chunk))
		done += chunk
	}
	return nil
}

// transfer records fn into the device's transfer command buffer, submits it and waits.
// xmu must be held. The wait ignores cancellation: the staging buffer is reused next.
func (d *Device) transfer(ctx context.Context, fn func(C.VkCommandBuffer)) error {
	c := d.xfer
	if err := vkErr("vkBeginCommandBuffer", C.vr_begin(d.c, c.cb)); err != nil {
		return err
	}
	fn(c.cb)
	if err := vkErr("vkEndCommandBuffer", C.vr_end(d.c, c.cb)); err != nil {
		return err
	}
	d.qmu.Lock()
	err := vkErr("vkQueueSubmit", C.vr_submit(d.c, c.cb, c.fence))
	d.qmu.Unlock()
	if err != nil {
		return err
	}
	return d.waitFence(context.Background(), c.fence)
}

// UploadFloat32s uploads float32 values (little-endian, as the host stores them).
func (d *Device) UploadFloat32s(ctx context.Context, b *Buffer, off uint64, v []float32) error {
	if len(v) == 0 {
		return nil
	}
	return d.Upload(ctx, b, off, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
}

// DownloadFloat32s downloads len(v) float32 values starting at byte offset off.
func (d *Device) DownloadFloat32s(ctx context.Context, b *Buffer, off uint64, v []float32) error {
	if len(v) == 0 {
		return nil
	}
	return d.Download(ctx, b, off, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
}

// UploadUint32s uploads uint32 values.
func (d *Device) UploadUint32s(ctx context.Context, b *Buffer, off uint64, v []uint32) error {
	if len(v) == 0 {
		return nil
	}
	return d.Upload(ctx, b, off, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
}

// DownloadUint32s downloads len(v) uint32 values starting at byte offset off.
func (d *Device) DownloadUint32s(ctx context.Context, b *Buffer, off uint64, v []uint32) error {
	if len(v) == 0 {
		return nil
	}
	return d.Download(ctx, b, off, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
}
