package gpu

// #include <stdlib.h>
// #include <string.h>
// #include "vkbind.h"
import "C"

import (
	"context"
	"fmt"
	"time"
	"unsafe"
)

// RecorderOptions configure NewRecorder.
type RecorderOptions struct {
	// Profile writes GPU timestamps around every dispatch (where the device supports them);
	// read them with Timings after Submit.
	Profile bool
	// MaxProfiled caps the number of timed dispatches (default 4096).
	MaxProfiled int
}

// Recorder records dispatches, copies and fills into one command buffer, inserting a memory
// barrier exactly where an operation touches a range an earlier unbarriered operation
// wrote (read-after-write, write-after-write) or read (write-after-read). A recorded
// command buffer can be submitted (replayed) any number of times. A Recorder is used by one
// goroutine at a time.
type Recorder struct {
	d    *Device
	cmd  *command
	opts RecorderOptions

	pools    []C.VkDescriptorPool
	args     *C.vr_dispatch // C memory reused for every dispatch
	lastPipe C.VkPipeline

	writes, reads []access // since the last barrier
	recording     bool
	ended         bool
	inflight      bool
	closed        bool

	dispatches int
	barriers   int

	qpool   C.VkQueryPool
	qcap    int
	labels  []string
	nextLbl string
}

type access struct {
	buf      C.VkBuffer
	off, end uint64
}

func overlaps(set []access, a access) bool {
	for _, s := range set {
		if s.buf == a.buf && s.off < a.end && a.off < s.end {
			return true
		}
	}
	return false
}

const poolSets = 512

// NewRecorder creates a recorder and begins recording.
func (d *Device) NewRecorder(opts RecorderOptions) (*Recorder, error) {
	if d.isClosed() {
		return nil, ErrClosed
	}
	cmd, err := d.newCommand()
	if err != nil {
		return nil, fmt.Errorf("new recorder: %w", err)
	}
	r := &Recorder{d: d, cmd: cmd, opts: opts}
	r.args = (*C.vr_dispatch)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vr_dispatch{}))))
	if opts.Profile && d.info.Timestamps {
		if r.opts.MaxProfiled <= 0 {
			r.opts.MaxProfiled = 4096
		}
		r.qcap = 2 * r.opts.MaxProfiled
		if err := vkErr("vkCreateQueryPool", C.vr_create_query_pool(d.c, C.uint32_t(r.qcap), &r.qpool)); err != nil {
			r.Close()
			return nil, fmt.Errorf("new recorder: %w", err)
		}
		track(1)
	}
	if err := r.Reset(); err != nil {
		r.Close()
		return nil, err
	}
	d.rmu.Lock()
	d.recorders[r] = struct{}{}
	d.rmu.Unlock()
	return r, nil
}

// Reset discards what was recorded and begins a new recording.
func (r *Recorder) Reset() error {
	if r.closed {
		return ErrClosed
	}
	if r.inflight {
		if err := r.d.WaitIdle(); err != nil {
			return err
		}
	}
	for _, p := range r.pools {
		C.vr_destroy_descriptor_pool(r.d.c, p)
		track(-1)
	}
	r.pools = r.pools[:0]
	r.writes, r.reads = r.writes[:0], r.reads[:0]
	r.lastPipe = nil
	r.labels = r.labels[:0]
	r.dispatches, r.barriers = 0, 0
	r.ended = false
	if err := vkErr("vkBeginCommandBuffer", C.vr_begin(r.d.c, r.cmd.cb)); err != nil {
		return err
	}
	r.recording = true
	if r.qpool != nil {
		C.vr_record_reset_queries(r.d.c, r.cmd.cb, r.qpool, 0, C.uint32_t(r.qcap))
	}
	return nil
}

func (r *Recorder) addPool() error {
	var p C.VkDescriptorPool
	if err := vkErr("vkCreateDescriptorPool", C.vr_create_descriptor_pool(r.d.c, poolSets, poolSets*C.VR_MAX_BINDINGS, poolSets*4, &p)); err != nil {
		return err
	}
	track(1)
	r.pools = append(r.pools, p)
	return nil
}

// Label names the next dispatch in timings (default: the kernel's name).
func (r *Recorder) Label(name string) { r.nextLbl = name }

// needBarrier applies the hazard rules for one operation's reads and writes and records
// what it touches.
func (r *Recorder) hazard(reads, writes []access) bool {
	need := false
	for _, a := range reads {
		if overlaps(r.writes, a) {
			need = true
		}
	}
	for _, a := range writes {
		if overlaps(r.writes, a) || overlaps(r.reads, a) {
			need = true
		}
	}
	if need {
		r.writes, r.reads = r.writes[:0], r.reads[:0]
		r.barriers++
	}
	r.reads = append(r.reads, reads...)
	r.writes = append(r.writes, writes...)
	return need
}

func (r *Recorder) usable() error {
	if r.closed {
		return ErrClosed
	}
	if !r.recording {
		return fmt.Errorf("recorder: not recording (call Reset)")
	}
	return nil
}

// Dispatch records kernel k over groups workgroups with push constants and one binding per
// kernel binding.
func (r *Recorder) Dispatch(k *Kernel, groups [3]uint32, push []byte, binds ...Binding) error {
	if err := r.usable(); err != nil {
		return err
	}
	if k.d != r.d {
		return fmt.Errorf("dispatch %s: kernel belongs to another device", k.spec.Name)
	}
	if len(binds) != len(k.spec.Bindings) {
		return fmt.Errorf("dispatch %s: %d bindings given, kernel has %d", k.spec.Name, len(binds), len(k.spec.Bindings))
	}
	if len(push) != k.spec.PushSize {
		return fmt.Errorf("dispatch %s: %d push-constant bytes given, kernel takes %d", k.spec.Name, len(push), k.spec.PushSize)
	}
	lim := r.d.info.Limits
	for i := 0; i < 3; i++ {
		if groups[i] == 0 || groups[i] > lim.MaxComputeWorkGroupCount[i] {
			return fmt.Errorf("dispatch %s: %d workgroups in dimension %d (device allows 1..%d)", k.spec.Name, groups[i], i, lim.MaxComputeWorkGroupCount[i])
		}
	}
	a := r.args
	a.pipeline = k.pipeline
	a.layout = k.layout
	a.set_layout = k.setLayout
	a.nbind = C.uint32_t(len(binds))
	var reads, writes [C.VR_MAX_BINDINGS]access
	nr, nw := 0, 0
	for i, b := range binds {
		if err := b.check(); err != nil {
			return fmt.Errorf("dispatch %s binding %d: %w", k.spec.Name, i, err)
		}
		if b.Buf.a.d != r.d {
			return fmt.Errorf("dispatch %s binding %d: buffer belongs to another device", k.spec.Name, i)
		}
		kind := k.spec.Bindings[i]
		a.types[i] = C.uint32_t(kind.descriptorType())
		a.buffers[i] = b.Buf.blk.buf
		if kind.texel() {
			v, err := b.Buf.texelView(b.Off, b.Bytes, kind == TexelReadHalf)
			if err != nil {
				return fmt.Errorf("dispatch %s binding %d: %w", k.spec.Name, i, err)
			}
			a.views[i] = v
		} else {
			if b.Bytes > lim.MaxStorageBufferRange {
				return fmt.Errorf("dispatch %s binding %d: %d bytes %w (maxStorageBufferRange %d)", k.spec.Name, i, b.Bytes, ErrTooLarge, lim.MaxStorageBufferRange)
			}
			if (b.Buf.off+b.Off)%lim.MinStorageBufferOffsetAlignment != 0 {
				return fmt.Errorf("dispatch %s binding %d: offset %d not aligned to minStorageBufferOffsetAlignment %d", k.spec.Name, i, b.Off, lim.MinStorageBufferOffsetAlignment)
			}
			a.offsets[i] = C.VkDeviceSize(b.Buf.off + b.Off)
			a.ranges[i] = C.VkDeviceSize(b.Bytes)
		}
		acc := access{buf: b.Buf.blk.buf, off: b.Buf.off + b.Off, end: b.Buf.off + b.Off + b.Bytes}
		if kind.reads() {
			reads[nr] = acc
			nr++
		}
		if kind.writes() {
			writes[nw] = acc
			nw++
		}
	}
	a.push_size = C.uint32_t(len(push))
	if len(push) > 0 {
		C.memcpy(unsafe.Pointer(&a.push[0]), unsafe.Pointer(&push[0]), C.size_t(len(push)))
	}
	a.groups[0], a.groups[1], a.groups[2] = C.uint32_t(groups[0]), C.uint32_t(groups[1]), C.uint32_t(groups[2])
	a.bind_pipeline = C.uint32_t(cbool(r.lastPipe != k.pipeline))
	a.query_pool = nil
	if r.qpool != nil && 2*(len(r.labels)+1) <= r.qcap {
		a.query_pool = r.qpool
		a.query = C.uint32_t(2 * len(r.labels))
		lbl := r.nextLbl
		if lbl == "" {
			lbl = k.spec.Name
		}
		r.labels = append(r.labels, lbl)
	}
	r.nextLbl = ""
	if len(r.pools) == 0 {
		if err := r.addPool(); err != nil {
			return fmt.Errorf("dispatch %s: %w", k.spec.Name, err)
		}
	}
	barrier := r.hazard(reads[:nr], writes[:nw])
	a.barrier = C.uint32_t(cbool(barrier))
	a.pool = r.pools[len(r.pools)-1]
	res := C.vr_record_dispatch(r.d.c, r.cmd.cb, a)
	if res == C.VK_ERROR_OUT_OF_POOL_MEMORY || res == C.VK_ERROR_FRAGMENTED_POOL {
		if err := r.addPool(); err != nil {
			return fmt.Errorf("dispatch %s: %w", k.spec.Name, err)
		}
		a.pool = r.pools[len(r.pools)-1]
		res = C.vr_record_dispatch(r.d.c, r.cmd.cb, a)
	}
	if err := vkErr("record dispatch", res); err != nil {
		return fmt.Errorf("dispatch %s: %w", k.spec.Name, err)
	}
	r.lastPipe = k.pipeline
	r.dispatches++
	return nil
}

func (r *Recorder) transferHazard(reads, writes []access) {
	if r.hazard(reads, writes) {
		C.vr_record_barrier(r.d.c, r.cmd.cb, fullStages, fullWrites, fullStages, fullAccess)
	}
}

const (
	fullStages = C.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | C.VK_PIPELINE_STAGE_TRANSFER_BIT
	fullWrites = C.VK_ACCESS_SHADER_WRITE_BIT | C.VK_ACCESS_TRANSFER_WRITE_BIT
	fullAccess = C.VK_ACCESS_SHADER_READ_BIT | C.VK_ACCESS_SHADER_WRITE_BIT | C.VK_ACCESS_TRANSFER_READ_BIT | C.VK_ACCESS_TRANSFER_WRITE_BIT
)

// Copy records a buffer-to-buffer copy of min(dst.Bytes, src.Bytes) bytes.
func (r *Recorder) Copy(dst, src Binding) error {
	if err := r.usable(); err != nil {
		return err
	}
	if err := dst.check(); err != nil {
		return fmt.Errorf("copy dst: %w", err)
	}
	if err := src.check(); err != nil {
		return fmt.Errorf("copy src: %w", err)
	}
	n := min(dst.Bytes, src.Bytes)
	sa := access{src.Buf.blk.buf, src.Buf.off + src.Off, src.Buf.off + src.Off + n}
	da := access{dst.Buf.blk.buf, dst.Buf.off + dst.Off, dst.Buf.off + dst.Off + n}
	if sa.buf == da.buf && sa.off < da.end && da.off < sa.end {
		return fmt.Errorf("copy: source and destination overlap")
	}
	r.transferHazard([]access{sa}, []access{da})
	C.vr_record_copy(r.d.c, r.cmd.cb, src.Buf.blk.buf, C.VkDeviceSize(sa.off), dst.Buf.blk.buf, C.VkDeviceSize(da.off), C.VkDeviceSize(n))
	return nil
}

// Fill records filling dst with a repeated 32-bit value (offset and size multiples of 4).
func (r *Recorder) Fill(dst Binding, value uint32) error {
	if err := r.usable(); err != nil {
		return err
	}
	if err := dst.check(); err != nil {
		return fmt.Errorf("fill: %w", err)
	}
	if (dst.Buf.off+dst.Off)%4 != 0 || dst.Bytes%4 != 0 {
		return fmt.Errorf("fill: offset and size must be multiples of 4")
	}
	da := access{dst.Buf.blk.buf, dst.Buf.off + dst.Off, dst.Buf.off + dst.Off + dst.Bytes}
	r.transferHazard(nil, []access{da})
	C.vr_record_fill(r.d.c, r.cmd.cb, dst.Buf.blk.buf, C.VkDeviceSize(da.off), C.VkDeviceSize(dst.Bytes), C.uint32_t(value))
	return nil
}

// Barrier forces a full memory barrier (rarely needed: dependencies are tracked).
func (r *Recorder) Barrier() error {
	if err := r.usable(); err != nil {
		return err
	}
	C.vr_record_barrier(r.d.c, r.cmd.cb, fullStages, fullWrites, fullStages, fullAccess)
	r.writes, r.reads = r.writes[:0], r.reads[:0]
	r.barriers++
	return nil
}

// Stats reports how many dispatches and barriers were recorded.
func (r *Recorder) Stats() (dispatches, barriers int) { return r.dispatches, r.barriers }

// End finishes recording. It makes all writes visible to the host (for Download of mapped
// memory) and is implied by Submit.
func (r *Recorder) End() error {
	if err := r.usable(); err != nil {
		return err
	}
	C.vr_record_barrier(r.d.c, r.cmd.cb, fullStages, fullWrites, C.VK_PIPELINE_STAGE_HOST_BIT, C.VK_ACCESS_HOST_READ_BIT)
	if err := vkErr("vkEndCommandBuffer", C.vr_end(r.d.c, r.cmd.cb)); err != nil {
		return err
	}
	r.recording = false
	r.ended = true
	return nil
}

// Submit runs the recorded commands (ending the recording if needed) and waits for them to
// finish. It can be called again to replay the same commands. If ctx ends first, Submit
// returns ctx.Err(); the work still completes on the device, and the next use of the
// device waits for it.
func (r *Recorder) Submit(ctx context.Context) error {
	if r.closed {
		return ErrClosed
	}
	if r.recording {
		if err := r.End(); err != nil {
			return err
		}
	}
	if !r.ended {
		return fmt.Errorf("submit: nothing recorded")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d := r.d
	d.qmu.Lock()
	if d.isClosed() {
		d.qmu.Unlock()
		return ErrClosed
	}
	if err := d.drainLocked(); err != nil {
		d.qmu.Unlock()
		return err
	}
	err := vkErr("vkQueueSubmit", C.vr_submit(d.c, r.cmd.cb, r.cmd.fence))
	if err != nil {
		d.qmu.Unlock()
		return fmt.Errorf("submit: %w", err)
	}
	r.inflight = true
	d.pending = append(d.pending, r)
	d.qmu.Unlock()

	werr := d.waitFence(ctx, r.cmd.fence)
	if werr == ctx.Err() && werr != nil {
		return werr // left pending; drained by the next user of the queue
	}
	d.qmu.Lock()
	for i, p := range d.pending {
		if p == r {
			d.pending = append(d.pending[:i], d.pending[i+1:]...)
			break
		}
	}
	r.inflight = false
	d.qmu.Unlock()
	if werr != nil {
		return fmt.Errorf("submit: %w", werr)
	}
	return nil
}

// Timing is the GPU time of one labelled dispatch.
type Timing struct {
	Label    string
	Duration time.Duration
}

// Timings returns per-dispatch GPU times from the last Submit (nil without profiling).
func (r *Recorder) Timings() ([]Timing, error) {
	if r.qpool == nil || len(r.labels) == 0 {
		return nil, nil
	}
	if r.inflight {
		return nil, fmt.Errorf("timings: submission still in flight")
	}
	n := 2 * len(r.labels)
	buf := (*C.uint64_t)(C.calloc(C.size_t(n), 8))
	defer C.free(unsafe.Pointer(buf))
	if err := vkErr("vkGetQueryPoolResults", C.vr_query_results(r.d.c, r.qpool, 0, C.uint32_t(n), buf)); err != nil {
		return nil, err
	}
	ts := unsafe.Slice((*uint64)(unsafe.Pointer(buf)), n)
	bits := r.d.info.TimestampValidBits
	mask := ^uint64(0)
	if bits < 64 {
		mask = (uint64(1) << bits) - 1
	}
	period := float64(r.d.info.Limits.TimestampPeriod)
	out := make([]Timing, len(r.labels))
	for i, l := range r.labels {
		delta := (ts[2*i+1] - ts[2*i]) & mask
		out[i] = Timing{Label: l, Duration: time.Duration(float64(delta) * period)}
	}
	return out, nil
}

// Close frees the recorder's command buffer, descriptor pools and query pool, after any
// submission of it has finished. It is idempotent.
func (r *Recorder) Close() error {
	r.d.rmu.Lock()
	delete(r.d.recorders, r)
	r.d.rmu.Unlock()
	return r.release()
}

// release frees the recorder's objects; Device.Close calls it for recorders left open.
func (r *Recorder) release() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.inflight && !r.d.isClosed() {
		r.d.WaitIdle()
	}
	for _, p := range r.pools {
		C.vr_destroy_descriptor_pool(r.d.c, p)
		track(-1)
	}
	r.pools = nil
	if r.qpool != nil {
		C.vr_destroy_query_pool(r.d.c, r.qpool)
		track(-1)
	}
	r.cmd.destroy(r.d)
	C.free(unsafe.Pointer(r.args))
	return nil
}
