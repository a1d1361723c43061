package gpu_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
	"github.com/vilt-vk/vilt-vk/shaders"
)

func kernel(t testing.TB, d *gpu.Device, name string, binds []gpu.BindingKind, push int, spec ...gpu.SpecConstant) *gpu.Kernel {
	t.Helper()
	k, err := d.Kernel(gpu.KernelSpec{Name: name, SPIRV: shaders.MustGet(name), Bindings: binds, PushSize: push, Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func upload(t testing.TB, d *gpu.Device, v []float32) *gpu.Buffer {
	t.Helper()
	b, err := d.Alloc(uint64(4 * len(v)))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.UploadFloat32s(context.Background(), b, 0, v); err != nil {
		t.Fatal(err)
	}
	return b
}

func download(t testing.TB, d *gpu.Device, b *gpu.Buffer, n int) []float32 {
	t.Helper()
	v := make([]float32, n)
	if err := d.DownloadFloat32s(context.Background(), b, 0, v); err != nil {
		t.Fatal(err)
	}
	return v
}

// groups1D lays n invocations of a 64-wide kernel on a 2-D grid.
func groups1D(n int) [3]uint32 {
	g := (n + 63) / 64
	if g <= 65535 {
		return [3]uint32{uint32(g), 1, 1}
	}
	return [3]uint32{65535, uint32((g + 65534) / 65535), 1}
}

var ls64 = gpu.SpecUint(0, 64)

// guard is the number of sentinel floats around outputs to catch out-of-bounds writes.
const guard = 64

const sentinel = float32(-12345.5)

// outBuf allocates n floats plus guard regions filled with a sentinel; data() returns the
// binding of the middle part, check() verifies the guards.
type outBuf struct {
	b *gpu.Buffer
	n int
}

func newOut(t testing.TB, d *gpu.Device, n int) outBuf {
	init := make([]float32, n+2*guard)
	for i := range init {
		init[i] = sentinel
	}
	return outBuf{upload(t, d, init), n}
}

func (o outBuf) data() gpu.Binding { return o.b.Range(4*guard, uint64(4*o.n)) }

func (o outBuf) read(t testing.TB, d *gpu.Device) []float32 {
	t.Helper()
	all := download(t, d, o.b, o.n+2*guard)
	for i := 0; i < guard; i++ {
		if all[i] != sentinel || all[guard+o.n+i] != sentinel {
			t.Fatalf("out-of-bounds write near the output (guard %d)", i)
		}
	}
	return all[guard : guard+o.n]
}

func TestDevices(t *testing.T) {
	inst := gputest.Instance(t)
	devs, err := inst.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) == 0 {
		t.Fatal("no devices")
	}
	for _, d := range devs {
		t.Logf("%d: %s (%s, %s %s, api %s, subgroup %d)", d.Index, d.Name, d.Type, d.DriverName, d.DriverVersion, d.APIVersion, d.Features.SubgroupSize)
		l := d.Limits
		if l.MaxStorageBufferRange < 1<<27 && d.Type != gpu.TypeOther {
			t.Errorf("%s: maxStorageBufferRange %d below the spec minimum", d.Name, l.MaxStorageBufferRange)
		}
		if l.MaxComputeWorkGroupInvocations < 128 || l.MaxComputeSharedMemorySize < 16384 || l.MinStorageBufferOffsetAlignment == 0 {
			t.Errorf("%s: implausible limits %+v", d.Name, l)
		}
		if len(d.Heaps) == 0 || d.DeviceLocalBytes() == 0 {
			t.Errorf("%s: no device-local heap", d.Name)
		}
	}
	if _, err := gpu.Select(devs, "no-such-device-name"); !errors.Is(err, gpu.ErrNoDevice) {
		t.Errorf("Select(unknown) = %v, want ErrNoDevice", err)
	}
	if _, err := gpu.Select(devs, "99"); !errors.Is(err, gpu.ErrNoDevice) {
		t.Errorf("Select(99) = %v, want ErrNoDevice", err)
	}
	idx, err := gpu.Select(devs, "0")
	if err != nil || len(idx) != 1 || idx[0] != 0 {
		t.Errorf("Select(0) = %v, %v", idx, err)
	}
	idx, err = gpu.Select(devs, strings.ToUpper(devs[0].Name[:3]))
	if err != nil || len(idx) != 1 {
		t.Errorf("Select(name prefix) = %v, %v", idx, err)
	}
}

func TestSelectPreference(t *testing.T) {
	devs := []gpu.DeviceInfo{
		{Index: 0, Name: "llvmpipe", Type: gpu.TypeCPU},
		{Index: 1, Name: "Intel UHD", Type: gpu.TypeIntegrated},
		{Index: 2, Name: "NVIDIA H200", Type: gpu.TypeDiscrete},
		{Index: 3, Name: "broken", Type: gpu.TypeDiscrete, ComputeQueueFamily: -1},
	}
	t.Setenv("VILT_DEVICE", "")
	cases := []struct {
		sel  string
		want []int
	}{
		{"", []int{2}},
		{"llvm", []int{0}},
		{"1", []int{1}},
		{"all", []int{0, 1, 2}},
		{"nvidia,0", []int{0, 2}},
	}
	for _, c := range cases {
		got, err := gpu.Select(devs, c.sel)
		if err != nil || len(got) != len(c.want) {
			t.Errorf("Select(%q) = %v, %v; want %v", c.sel, got, err, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("Select(%q) = %v; want %v", c.sel, got, c.want)
			}
		}
	}
	if _, err := gpu.Select(devs, "3"); err == nil {
		t.Error("selected a device without a compute queue")
	}
	t.Setenv("VILT_DEVICE", "intel")
	if got, err := gpu.Select(devs, ""); err != nil || got[0] != 1 {
		t.Errorf("VILT_DEVICE=intel: %v, %v", got, err)
	}
}

// runOps checks fill, copy, add and the naive matmul against Go references on odd shapes.
func runOps(t *testing.T, d *gpu.Device) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	fill := kernel(t, d, "fill", []gpu.BindingKind{gpu.WriteOnly}, 8, ls64)
	cp := kernel(t, d, "copy", []gpu.BindingKind{gpu.ReadOnly, gpu.WriteOnly}, 4, ls64)
	add := kernel(t, d, "add", []gpu.BindingKind{gpu.ReadOnly, gpu.ReadOnly, gpu.WriteOnly}, 8, ls64)
	mm := kernel(t, d, "matmul_naive", []gpu.BindingKind{gpu.ReadOnly, gpu.ReadOnly, gpu.WriteOnly}, 12, gpu.SpecUint(0, 8), gpu.SpecUint(1, 8))
	for _, n := range []int{1, 7, 33, 201, 769, 4099} {
		a, b := randFloats(r, n), randFloats(r, n)
		ab, bb := upload(t, d, a), upload(t, d, b)
		yf, yc, ya, yb := newOut(t, d, n), newOut(t, d, n), newOut(t, d, n), newOut(t, d, n)
		rec, err := d.NewRecorder(gpu.RecorderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		must(t, rec.Dispatch(fill, groups1D(n), gpu.Push(uint32(n), float32(2.5)), yf.data()))
		must(t, rec.Dispatch(cp, groups1D(n), gpu.Push(uint32(n)), ab.Whole(), yc.data()))
		must(t, rec.Dispatch(add, groups1D(n), gpu.Push(uint32(n), uint32(n)), ab.Whole(), bb.Whole(), ya.data()))
		nb := max(1, n/7)
		must(t, rec.Dispatch(add, groups1D(n), gpu.Push(uint32(n), uint32(nb)), ab.Whole(), bb.Range(0, uint64(4*nb)), yb.data()))
		must(t, rec.Submit(ctx))
		must(t, rec.Close())
		gf, gc, ga, gb := yf.read(t, d), yc.read(t, d), ya.read(t, d), yb.read(t, d)
		for i := 0; i < n; i++ {
			if gf[i] != 2.5 || gc[i] != a[i] || ga[i] != a[i]+b[i] || gb[i] != a[i]+b[i%nb] {
				t.Fatalf("n=%d i=%d: fill %v copy %v/%v add %v/%v bcast %v/%v", n, i, gf[i], gc[i], a[i], ga[i], a[i]+b[i], gb[i], a[i]+b[i%nb])
			}
		}
		for _, x := range []*gpu.Buffer{ab, bb, yf.b, yc.b, ya.b, yb.b} {
			x.Free()
		}
	}
	for _, s := range [][3]int{{1, 1, 1}, {7, 33, 5}, {33, 7, 201}, {17, 65, 64}} {
		m, n, k := s[0], s[1], s[2]
		x, w := randFloats(r, m*k), randFloats(r, n*k)
		xb, wb := upload(t, d, x), upload(t, d, w)
		y := newOut(t, d, m*n)
		rec, err := d.NewRecorder(gpu.RecorderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		must(t, rec.Dispatch(mm, [3]uint32{uint32((n + 7) / 8), uint32((m + 7) / 8), 1}, gpu.Push(uint32(m), uint32(n), uint32(k)), xb.Whole(), wb.Whole(), y.data()))
		must(t, rec.Submit(ctx))
		rec.Close()
		got := y.read(t, d)
		want := matmulRef(x, w, m, n, k)
		if e := nmse(got, want); e > 1e-10 {
			t.Errorf("matmul %v: nmse %g", s, e)
		}
		xb.Free()
		wb.Free()
		y.b.Free()
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func matmulRef(x, w []float32, m, n, k int) []float32 {
	y := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc float64
			for q := 0; q < k; q++ {
				acc += float64(x[i*k+q]) * float64(w[j*k+q])
			}
			y[i*n+j] = float32(acc)
		}
	}
	return y
}

func nmse(got, want []float32) float64 {
	var num, den float64
	for i := range got {
		if math.IsNaN(float64(got[i])) {
			return math.Inf(1)
		}
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return num
	}
	return num / den
}

func TestOpsMatchReference(t *testing.T) {
	t.Run("default", func(t *testing.T) { runOps(t, gputest.Device(t)) })
	t.Run("staging", func(t *testing.T) {
		d := gputest.DeviceWith(t, gpu.DeviceOptions{ForceStaging: true, StagingSize: 4096})
		if d.HostMapped() {
			t.Fatal("ForceStaging ignored")
		}
		runOps(t, d)
	})
}

func TestUploadDownloadChunked(t *testing.T) {
	for _, forced := range []bool{false, true} {
		d := gputest.DeviceWith(t, gpu.DeviceOptions{ForceStaging: forced, StagingSize: 1 << 16, BlockSize: 1 << 20})
		r := rand.New(rand.NewPCG(3, 4))
		n := 300_001 // > staging chunk, > half a block: a dedicated block
		v := randFloats(r, n)
		b := upload(t, d, v)
		got := download(t, d, b, n)
		for i := range v {
			if got[i] != v[i] {
				t.Fatalf("forced=%v: element %d: %v != %v", forced, i, got[i], v[i])
			}
		}
		part := make([]float32, 1000)
		if err := d.DownloadFloat32s(context.Background(), b, 4*12345, part); err != nil {
			t.Fatal(err)
		}
		if part[0] != v[12345] || part[999] != v[13344] {
			t.Fatal("partial download mismatch")
		}
		if err := d.Download(context.Background(), b, uint64(4*n-2), make([]byte, 4)); err == nil {
			t.Error("download past the end succeeded")
		}
		st := d.MemoryStats()
		if st.Used < uint64(4*n) || st.Peak < st.Used || st.Blocks == 0 {
			t.Errorf("stats %+v", st)
		}
		b.Free()
		b.Free() // idempotent
		if st := d.MemoryStats(); st.Used != 0 {
			t.Errorf("used %d after free", st.Used)
		}
	}
}

func TestSuballocation(t *testing.T) {
	d := gputest.DeviceWith(t, gpu.DeviceOptions{BlockSize: 1 << 20})
	align := d.Info().Limits.MinStorageBufferOffsetAlignment
	var bufs []*gpu.Buffer
	for i := 0; i < 100; i++ {
		b, err := d.Alloc(uint64(1 + 97*i))
		if err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, b)
	}
	if st := d.MemoryStats(); st.Blocks != 1 {
		t.Errorf("100 small buffers took %d blocks, want 1 (suballocated)", st.Blocks)
	}
	// Free every other buffer, then allocate again: holes are reused.
	for i := 0; i < len(bufs); i += 2 {
		bufs[i].Free()
	}
	for i := 0; i < 50; i++ {
		b, err := d.Alloc(uint64(1 + 97*i))
		if err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, b)
	}
	if st := d.MemoryStats(); st.Blocks != 1 {
		t.Errorf("blocks %d after reuse", st.Blocks)
	}
	// Each buffer binds at an aligned offset: a dispatch on each validates.
	fill := kernel(t, d, "fill", []gpu.BindingKind{gpu.WriteOnly}, 8, ls64)
	rec, err := d.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer rec.Close()
	for i, b := range bufs {
		if i < 100 && i%2 == 0 {
			continue
		}
		n := int(b.Size() / 4)
		if n == 0 {
			continue
		}
		must(t, rec.Dispatch(fill, groups1D(n), gpu.Push(uint32(n), float32(i)), b.Range(0, uint64(4*n))))
	}
	must(t, rec.Submit(context.Background()))
	if _, err := d.Alloc(0); err == nil {
		t.Error("zero-size alloc succeeded")
	}
	_ = align
}

func TestBarriersOnlyWhereNeeded(t *testing.T) {
	d := gputest.Device(t)
	cp := kernel(t, d, "copy", []gpu.BindingKind{gpu.ReadOnly, gpu.WriteOnly}, 4, ls64)
	n := 128
	bufs := make([]*gpu.Buffer, 6)
	for i := range bufs {
		bufs[i] = upload(t, d, make([]float32, n))
	}
	push := gpu.Push(uint32(n))
	g := groups1D(n)
	rec, err := d.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer rec.Close()
	// Independent: 0→1, 2→3 (no barrier); dependent: 1→4 (RAW on 1), then 5→0 (WAR on 0).
	must(t, rec.Dispatch(cp, g, push, bufs[0].Whole(), bufs[1].Whole()))
	must(t, rec.Dispatch(cp, g, push, bufs[2].Whole(), bufs[3].Whole()))
	if _, b := rec.Stats(); b != 0 {
		t.Fatalf("independent dispatches got %d barriers", b)
	}
	must(t, rec.Dispatch(cp, g, push, bufs[1].Whole(), bufs[4].Whole()))
	if _, b := rec.Stats(); b != 1 {
		t.Fatalf("read-after-write got %d barriers, want 1", b)
	}
	must(t, rec.Dispatch(cp, g, push, bufs[5].Whole(), bufs[0].Whole()))
	if _, b := rec.Stats(); b != 1 {
		t.Fatalf("write to a range read before the last barrier: %d barriers, want 1", b)
	}
	must(t, rec.Dispatch(cp, g, push, bufs[4].Whole(), bufs[1].Whole()))
	if _, b := rec.Stats(); b != 2 {
		t.Fatalf("write-after-read got %d barriers, want 2", b)
	}
	// Disjoint halves of one buffer do not conflict.
	half := uint64(4 * n / 2)
	must(t, rec.Barrier())
	must(t, rec.Dispatch(cp, groups1D(n/2), gpu.Push(uint32(n/2)), bufs[2].Range(0, half), bufs[3].Range(0, half)))
	must(t, rec.Dispatch(cp, groups1D(n/2), gpu.Push(uint32(n/2)), bufs[2].Range(half, half), bufs[3].Range(half, half)))
	if _, b := rec.Stats(); b != 3 {
		t.Fatalf("disjoint ranges: %d barriers, want 3 (one explicit)", b)
	}
	must(t, rec.Submit(context.Background()))
}

// TestStress records 10,000 small dependent dispatches in one command buffer, then replays a
// recorder 1,000 times, and checks the result, the live-object count and memory growth.
func TestStress(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test")
	}
	d := gputest.Device(t)
	ctx := context.Background()
	add := kernel(t, d, "add", []gpu.BindingKind{gpu.ReadOnly, gpu.ReadOnly, gpu.WriteOnly}, 8, ls64)
	n := 17
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	one := upload(t, d, ones)
	a := upload(t, d, make([]float32, n))
	b := upload(t, d, make([]float32, n))
	push := gpu.Push(uint32(n), uint32(n))
	rec, err := d.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	const chain = 10000
	for i := 0; i < chain; i++ {
		src, dst := a, b
		if i%2 == 1 {
			src, dst = b, a
		}
		must(t, rec.Dispatch(add, [3]uint32{1, 1, 1}, push, src.Whole(), one.Whole(), dst.Whole()))
	}
	if disp, bar := rec.Stats(); disp != chain || bar != chain-1 {
		t.Fatalf("stats %d dispatches %d barriers, want %d and %d", disp, bar, chain, chain-1)
	}
	must(t, rec.Submit(ctx))
	got := download(t, d, a, n) // chain is even: the last write went to a
	if got[0] != chain || got[n-1] != chain {
		t.Fatalf("after %d dependent adds: %v", chain, got[0])
	}
	must(t, rec.Close())

	small, err := d.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer small.Close()
	must(t, small.Dispatch(add, [3]uint32{1, 1, 1}, push, a.Whole(), one.Whole(), b.Whole()))
	must(t, small.Dispatch(add, [3]uint32{1, 1, 1}, push, b.Whole(), one.Whole(), a.Whole()))
	must(t, small.Submit(ctx))
	objs := gpu.LiveObjects()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rss0 := rss()
	for i := 0; i < 1000; i++ {
		if err := small.Submit(ctx); err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	rss1 := rss()
	got = download(t, d, a, n)
	if want := float32(chain + 2*1001); got[0] != want {
		t.Fatalf("after replays: %v, want %v", got[0], want)
	}
	if gpu.LiveObjects() != objs {
		t.Errorf("live objects %d → %d over 1000 submits", objs, gpu.LiveObjects())
	}
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 1<<20 {
		t.Errorf("Go heap grew %d bytes over 1000 submits", grow)
	}
	if rss0 > 0 && rss1-rss0 > 16<<20 {
		t.Errorf("RSS grew %d bytes over 1000 submits", rss1-rss0)
	}
	t.Logf("1000 submits: heap %+d B, rss %+d B", int64(after.HeapAlloc)-int64(before.HeapAlloc), rss1-rss0)
}

func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	if _, err := fmtSscan(string(b), &size, &res); err != nil {
		return 0
	}
	return res * int64(os.Getpagesize())
}

func TestOpenClose100(t *testing.T) {
	inst := gputest.Instance(t)
	devs, err := inst.Devices()
	must(t, err)
	idx, err := gpu.Select(devs, "")
	must(t, err)
	base := gpu.LiveObjects()
	for i := 0; i < 100; i++ {
		d, err := inst.OpenDevice(idx[0], gpu.DeviceOptions{PipelineCacheDir: "off"})
		if err != nil {
			t.Fatal(err)
		}
		// Leave things open on purpose: Close must free them all.
		b, err := d.Alloc(1000)
		must(t, err)
		if i%10 == 0 {
			k := kernel(t, d, "copy", []gpu.BindingKind{gpu.ReadOnly, gpu.WriteOnly}, 4, ls64)
			rec, err := d.NewRecorder(gpu.RecorderOptions{Profile: true})
			must(t, err)
			c, err := d.Alloc(1000)
			must(t, err)
			must(t, rec.Dispatch(k, [3]uint32{4, 1, 1}, gpu.Push(uint32(250)), b.Whole(), c.Whole()))
			must(t, rec.Submit(context.Background()))
		}
		must(t, d.Close())
		must(t, d.Close()) // idempotent
		b.Free()           // after Close: harmless
		if _, err := d.Alloc(10); !errors.Is(err, gpu.ErrClosed) {
			t.Fatalf("alloc after close: %v", err)
		}
	}
	if got := gpu.LiveObjects(); got != base {
		t.Errorf("live objects %d after 100 open/close cycles, want %d", got, base)
	}
}

func TestLiveObjectsReturnToZero(t *testing.T) {
	base := gpu.LiveObjects()
	inst, err := gpu.NewInstance(gpu.InstanceOptions{})
	must(t, err)
	d, err := inst.OpenDevice(0, gpu.DeviceOptions{})
	must(t, err)
	b, err := d.Alloc(4096)
	must(t, err)
	k, err := d.Kernel(gpu.KernelSpec{Name: "fill", SPIRV: shaders.MustGet("fill"), Bindings: []gpu.BindingKind{gpu.WriteOnly}, PushSize: 8, Spec: []gpu.SpecConstant{ls64}})
	must(t, err)
	rec, err := d.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	must(t, rec.Dispatch(k, [3]uint32{16, 1, 1}, gpu.Push(uint32(1024), float32(1)), b.Whole()))
	must(t, rec.Submit(context.Background()))
	if gpu.LiveObjects() <= base {
		t.Fatal("live objects not counted")
	}
	must(t, inst.Close()) // closes the device, its recorder, kernels and memory
	if got := gpu.LiveObjects(); got != base {
		t.Errorf("live objects %d after instance close, want %d", got, base)
	}
	must(t, rec.Close())
	b.Free()
}

func TestTwoDevices(t *testing.T) {
	inst := gputest.Instance(t)
	d1, err := inst.OpenDevice(0, gpu.DeviceOptions{})
	must(t, err)
	d2, err := inst.OpenDevice(0, gpu.DeviceOptions{})
	must(t, err)
	var wg sync.WaitGroup
	for i, d := range []*gpu.Device{d1, d2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				n := 1000 + i
				b, err := d.Alloc(uint64(4 * n))
				if err != nil {
					t.Error(err)
					return
				}
				k, err := d.Kernel(gpu.KernelSpec{Name: "fill", SPIRV: shaders.MustGet("fill"), Bindings: []gpu.BindingKind{gpu.WriteOnly}, PushSize: 8, Spec: []gpu.SpecConstant{ls64}})
				if err != nil {
					t.Error(err)
					return
				}
				rec, err := d.NewRecorder(gpu.RecorderOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				if err := rec.Dispatch(k, groups1D(n), gpu.Push(uint32(n), float32(i+j)), b.Whole()); err != nil {
					t.Error(err)
				}
				if err := rec.Submit(context.Background()); err != nil {
					t.Error(err)
				}
				v := make([]float32, n)
				if err := d.DownloadFloat32s(context.Background(), b, 0, v); err != nil {
					t.Error(err)
				}
				if v[n-1] != float32(i+j) {
					t.Errorf("device %d iteration %d: %v", i, j, v[n-1])
				}
				rec.Close()
				b.Free()
			}
		}()
	}
	wg.Wait()
}

// TestConcurrentRecorders exercises one device from several goroutines (run with -race).
func TestConcurrentRecorders(t *testing.T) {
	d := gputest.Device(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := d.Kernel(gpu.KernelSpec{Name: "fill", SPIRV: shaders.MustGet("fill"), Bindings: []gpu.BindingKind{gpu.WriteOnly}, PushSize: 8, Spec: []gpu.SpecConstant{ls64}})
			if err != nil {
				t.Error(err)
				return
			}
			b, err := d.Alloc(4 * 333)
			if err != nil {
				t.Error(err)
				return
			}
			defer b.Free()
			rec, err := d.NewRecorder(gpu.RecorderOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			defer rec.Close()
			if err := rec.Dispatch(k, groups1D(333), gpu.Push(uint32(333), float32(g)), b.Whole()); err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < 10; i++ {
				if err := rec.Submit(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
			v := make([]float32, 333)
			if err := d.DownloadFloat32s(context.Background(), b, 0, v); err != nil {
				t.Error(err)
			}
			if v[332] != float32(g) {
				t.Errorf("goroutine %d read %v", g, v[332])
			}
		}()
	}
	wg.Wait()
}

func TestDispatchErrors(t *testing.T) {
	d := gputest.Device(t)
	cp := kernel(t, d, "copy", []gpu.BindingKind{gpu.ReadOnly, gpu.WriteOnly}, 4, ls64)
	a, err := d.Alloc(1024)
	must(t, err)
	b, err := d.Alloc(1024)
	must(t, err)
	rec, err := d.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer rec.Close()
	cases := []struct {
		name string
		err  error
	}{
		{"too few bindings", rec.Dispatch(cp, [3]uint32{1, 1, 1}, gpu.Push(uint32(1)), a.Whole())},
		{"wrong push size", rec.Dispatch(cp, [3]uint32{1, 1, 1}, gpu.Push(uint32(1), uint32(2)), a.Whole(), b.Whole())},
		{"zero groups", rec.Dispatch(cp, [3]uint32{0, 1, 1}, gpu.Push(uint32(1)), a.Whole(), b.Whole())},
		{"range past end", rec.Dispatch(cp, [3]uint32{1, 1, 1}, gpu.Push(uint32(1)), a.Range(1000, 100), b.Whole())},
		{"misaligned offset", rec.Dispatch(cp, [3]uint32{1, 1, 1}, gpu.Push(uint32(1)), a.Range(4, 100), b.Whole())},
		{"copy overlap", rec.Copy(a.Range(0, 512), a.Range(256, 512))},
		{"fill misaligned", rec.Fill(a.Range(2, 8), 0)},
	}
	if d.Info().Limits.MinStorageBufferOffsetAlignment <= 4 {
		cases = append(cases[:4], cases[5:]...)
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if _, err := d.Kernel(gpu.KernelSpec{Name: "junk", SPIRV: []byte("not spir-v"), Bindings: nil}); err == nil {
		t.Error("junk SPIR-V accepted")
	}
	// The recorder is still usable after rejected calls.
	must(t, rec.Dispatch(cp, [3]uint32{4, 1, 1}, gpu.Push(uint32(256)), a.Whole(), b.Whole()))
	must(t, rec.Fill(a.Range(0, 16), 0))
	must(t, rec.Copy(b.Range(0, 512), a.Range(512, 512)))
	must(t, rec.Submit(context.Background()))
}

func TestCopyFill(t *testing.T) {
	d := gputest.Device(t)
	ctx := context.Background()
	src := upload(t, d, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	dst, err := d.Alloc(32)
	must(t, err)
	rec, err := d.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer rec.Close()
	must(t, rec.Fill(dst.Whole(), math.Float32bits(9)))
	must(t, rec.Copy(dst.Range(0, 16), src.Range(16, 16)))
	must(t, rec.Submit(ctx))
	got := download(t, d, dst, 8)
	want := []float32{5, 6, 7, 8, 9, 9, 9, 9}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
}

func TestSubmitCancelled(t *testing.T) {
	d := gputest.Device(t)
	fill := kernel(t, d, "fill", []gpu.BindingKind{gpu.WriteOnly}, 8, ls64)
	b, err := d.Alloc(4 * 64)
	must(t, err)
	rec, err := d.NewRecorder(gpu.RecorderOptions{})
	must(t, err)
	defer rec.Close()
	must(t, rec.Dispatch(fill, [3]uint32{1, 1, 1}, gpu.Push(uint32(64), float32(3)), b.Whole()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := rec.Submit(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("submit with cancelled ctx: %v", err)
	}
	must(t, rec.Submit(context.Background()))
	tctx, cancel2 := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel2()
	time.Sleep(time.Millisecond)
	_ = rec.Submit(tctx) // may or may not finish first; must not break the device
	if got := download(t, d, b, 64); got[63] != 3 {
		t.Fatalf("got %v", got[63])
	}
}

func TestTimestamps(t *testing.T) {
	d := gputest.Device(t)
	if !d.Info().Timestamps {
		t.Skip("device has no compute timestamps")
	}
	mm := kernel(t, d, "matmul_naive", []gpu.BindingKind{gpu.ReadOnly, gpu.ReadOnly, gpu.WriteOnly}, 12, gpu.SpecUint(0, 8), gpu.SpecUint(1, 8))
	m, n, k := 64, 64, 256
	x, w, y := upload(t, d, make([]float32, m*k)), upload(t, d, make([]float32, n*k)), upload(t, d, make([]float32, m*n))
	rec, err := d.NewRecorder(gpu.RecorderOptions{Profile: true})
	must(t, err)
	defer rec.Close()
	rec.Label("mm1")
	must(t, rec.Dispatch(mm, [3]uint32{8, 8, 1}, gpu.Push(uint32(m), uint32(n), uint32(k)), x.Whole(), w.Whole(), y.Whole()))
	must(t, rec.Dispatch(mm, [3]uint32{8, 8, 1}, gpu.Push(uint32(m), uint32(n), uint32(k)), x.Whole(), w.Whole(), y.Whole()))
	must(t, rec.Submit(context.Background()))
	tm, err := rec.Timings()
	must(t, err)
	if len(tm) != 2 || tm[0].Label != "mm1" || tm[1].Label != "matmul_naive" {
		t.Fatalf("timings %+v", tm)
	}
	for _, x := range tm {
		if x.Duration <= 0 || x.Duration > 10*time.Second {
			t.Errorf("implausible GPU time %v", x.Duration)
		}
	}
}

func TestPipelineCachePersisted(t *testing.T) {
	dir := t.TempDir()
	d := gputest.DeviceWith(t, gpu.DeviceOptions{PipelineCacheDir: dir})
	kernel(t, d, "add", []gpu.BindingKind{gpu.ReadOnly, gpu.ReadOnly, gpu.WriteOnly}, 8, ls64)
	must(t, d.Close())
	files, _ := filepath.Glob(filepath.Join(dir, "pipelines-*.bin"))
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	// A corrupt cache file is a miss, not an error.
	must(t, os.WriteFile(files[0], []byte("garbage that is not a pipeline cache"), 0o644))
	d2 := gputest.DeviceWith(t, gpu.DeviceOptions{PipelineCacheDir: dir})
	kernel(t, d2, "add", []gpu.BindingKind{gpu.ReadOnly, gpu.ReadOnly, gpu.WriteOnly}, 8, ls64)
}

// TestNoLoader runs a child process with a loader path that does not exist.
func TestNoLoader(t *testing.T) {
	if os.Getenv("VILT_TEST_NO_LOADER_CHILD") == "1" {
		_, err := gpu.NewInstance(gpu.InstanceOptions{})
		var le *gpu.LoaderError
		if !errors.Is(err, gpu.ErrNoVulkan) || !errors.As(err, &le) {
			t.Fatalf("NewInstance = %v, want a LoaderError wrapping ErrNoVulkan", err)
		}
		hint := "apt install"
		if runtime.GOOS == "windows" {
			hint = "GPU driver"
		}
		if !strings.Contains(err.Error(), hint) {
			t.Fatalf("error does not say what to install: %v", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoLoader$", "-test.v")
	cmd.Env = append(os.Environ(), "VILT_TEST_NO_LOADER_CHILD=1", "VILT_VULKAN_LIBRARY=/nonexistent/libvulkan.so.1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// TestValidationMessagesReachGo proves the validation layer is active and its messages are
// routed to Go: a pipeline whose layout declares fewer push-constant bytes than the shader
// uses is invalid.
func TestValidationMessagesReachGo(t *testing.T) {
	if os.Getenv("VILT_VK_VALIDATE") == "0" {
		t.Skip("validation disabled")
	}
	var mu sync.Mutex
	var msgs []gpu.Message
	inst, err := gpu.NewInstance(gpu.InstanceOptions{Validate: true, OnMessage: func(m gpu.Message) {
		mu.Lock()
		msgs = append(msgs, m)
		mu.Unlock()
	}})
	must(t, err)
	defer inst.Close()
	if !inst.Validated() {
		t.Fatal("validation not enabled")
	}
	d, err := inst.OpenDevice(0, gpu.DeviceOptions{PipelineCacheDir: "off"})
	must(t, err)
	_, _ = d.Kernel(gpu.KernelSpec{Name: "fill", SPIRV: shaders.MustGet("fill"), Bindings: []gpu.BindingKind{gpu.WriteOnly}, PushSize: 4, Spec: []gpu.SpecConstant{ls64}})
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, m := range msgs {
		t.Logf("%v", m)
		if m.Severity >= gpu.SeverityError && m.Kind == "validation" {
			found = true
		}
	}
	if !found {
		t.Fatal("no validation error for an invalid push-constant range")
	}
	if inst.MessageCount() == 0 {
		t.Fatal("message count not kept")
	}
}

// TestOutOfDeviceMemory: an impossible allocation is a typed error and leaves the device usable.
// (No validation layer here: it rightly warns about allocations beyond the heap.)
func TestOutOfDeviceMemory(t *testing.T) {
	d, err := gpu.Open(gpu.Options{Device: gpu.DeviceOptions{PipelineCacheDir: "off"}})
	must(t, err)
	defer d.Close()
	_, err = d.Alloc(d.Info().DeviceLocalBytes() * 64)
	if !errors.Is(err, gpu.ErrOutOfDeviceMemory) {
		t.Fatalf("huge alloc: %v, want ErrOutOfDeviceMemory", err)
	}
	b, err := d.Alloc(1024)
	must(t, err)
	b.Free()
}

// TestOpenAll: OpenAll opens what the selector names on one instance; CloseAll closes the
// devices and that instance; a selector naming nothing fails without leaking.
func TestOpenAll(t *testing.T) {
	opts := gpu.Options{Instance: gpu.InstanceOptions{Validate: os.Getenv("VILT_VK_VALIDATE") != "0"}, Selector: "0,0"}
	devs, err := gpu.OpenAll(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 {
		t.Errorf("selector 0,0 opened %d devices, want 1", len(devs))
	}
	inst := devs[0].Instance()
	for _, d := range devs[1:] {
		if d.Instance() != inst {
			t.Error("devices on different instances")
		}
	}
	gpu.CloseAll(devs)
	if _, err := inst.OpenDevice(0, gpu.DeviceOptions{}); !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("instance after CloseAll: %v, want ErrClosed", err)
	}
	opts.Selector = "no-such-device-name"
	if _, err := gpu.OpenAll(opts); !errors.Is(err, gpu.ErrNoDevice) {
		t.Errorf("OpenAll(unknown) = %v, want ErrNoDevice", err)
	}
}
