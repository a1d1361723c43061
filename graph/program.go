package graph

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// A Program is a whole computation (a forward pass for one input shape) described as ops
// over Values, then compiled into one recorded command buffer that is replayed for every
// run. Compile plans memory: every temporary lives in one activation arena, at an offset
// chosen so that values whose lifetimes overlap never share bytes (liveness-based reuse).
// Inputs and outputs get buffers of their own; weights are device tensors owned elsewhere.
type Program struct {
	k      *Kernels
	values []*Value
	ops    []opNode
}

type valueKind uint8

const (
	kindTemp valueKind = iota
	kindInput
	kindOutput
	kindConst
)

// Value is a tensor of a Program.
type Value struct {
	Name  string
	Shape []int
	DType DType

	kind        valueKind
	t           Tensor // consts: the device tensor; after Compile: every value's tensor
	first, last int    // op indices of first and last use
	off         uint64 // arena offset of temps
}

// Len is the number of elements.
func (v *Value) Len() int {
	n := 1
	for _, s := range v.Shape {
		n *= s
	}
	return n
}

func (v *Value) bytes() uint64 { return uint64(4 * v.Len()) }

// Getter resolves a Value to its device tensor while recording.
type Getter func(*Value) Tensor

type opNode struct {
	name string
	uses []*Value
	fn   func(rec *gpu.Recorder, get Getter) error
}

// NewProgram starts an empty program on the kernels' device.
func NewProgram(k *Kernels) *Program { return &Program{k: k} }

// Kernels are the kernels the program records with.
func (p *Program) Kernels() *Kernels { return p.k }

func (p *Program) add(name string, kind valueKind, dt DType, shape []int) *Value {
	v := &Value{Name: name, Shape: append([]int(nil), shape...), DType: dt, kind: kind, first: -1, last: -1}
	p.values = append(p.values, v)
	return v
}

// Input declares a named input, uploaded before every run.
func (p *Program) Input(name string, dt DType, shape ...int) *Value {
	return p.add(name, kindInput, dt, shape)
}

// Temp declares an intermediate value (it lives in the arena).
func (p *Program) Temp(name string, dt DType, shape ...int) *Value {
	return p.add(name, kindTemp, dt, shape)
}

// Output declares a named output, downloadable after a run.
func (p *Program) Output(name string, dt DType, shape ...int) *Value {
	return p.add(name, kindOutput, dt, shape)
}

// Const wraps a device tensor owned by the caller (weights).
func (p *Program) Const(t Tensor) *Value {
	v := p.add("", kindConst, t.DType, t.Shape)
	v.t = t
	return v
}

// Op appends an op that uses the given values (reads or writes). fn records it, resolving
// values to tensors with get.
func (p *Program) Op(name string, fn func(rec *gpu.Recorder, get Getter) error, uses ...*Value) {
	idx := len(p.ops)
	for _, v := range uses {
		if v.first < 0 {
			v.first = idx
		}
		v.last = idx
	}
	p.ops = append(p.ops, opNode{name: name, uses: uses, fn: fn})
}

// arenaAlign keeps every temp aligned for storage and texel bindings on any device.
const arenaAlign = 256

// planArena assigns arena offsets to temps: largest first, each at the lowest offset that
// does not overlap a placed temp whose lifetime overlaps its own. It returns the arena size.
func planArena(temps []*Value) uint64 {
	order := append([]*Value(nil), temps...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].bytes() > order[j].bytes() })
	var placed []*Value
	var total uint64
	for _, v := range order {
		size := alignUp(v.bytes(), arenaAlign)
		var busy [][2]uint64
		for _, o := range placed {
			if o.first <= v.last && v.first <= o.last {
				busy = append(busy, [2]uint64{o.off, o.off + alignUp(o.bytes(), arenaAlign)})
			}
		}
		sort.Slice(busy, func(i, j int) bool { return busy[i][0] < busy[j][0] })
		off := uint64(0)
		for _, b := range busy {
			if off+size <= b[0] {
				break
			}
			if b[1] > off {
				off = b[1]
			}
		}
		v.off = off
		placed = append(placed, v)
		total = max(total, off+size)
	}
	return total
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) / a * a }

// Executable is a compiled Program: buffers allocated and one command buffer recorded.
type Executable struct {
	k       *Kernels
	rec     *gpu.Recorder
	arena   *gpu.Buffer
	inputs  map[string]*Value
	outputs map[string]*Value
	owned   []*gpu.Buffer
	stats   PlanStats
	profile bool
	opDisp  []int // dispatches each op recorded (chunked ops record several)
}

// PlanStats describe a compiled program's memory plan.
type PlanStats struct {
	Ops            int
	Dispatches     int
	Barriers       int
	ArenaBytes     uint64 // the activation arena (peak of temporaries)
	NaiveTempBytes uint64 // what the temporaries would take without reuse
	InputBytes     uint64
	OutputBytes    uint64
}

// CompileOptions configure Compile.
type CompileOptions struct {
	// Profile records GPU timestamps around every op (see Executable.Profile).
	Profile bool
}

// Compile plans memory, allocates it and records the program.
func (p *Program) Compile(opts CompileOptions) (_ *Executable, err error) {
	e := &Executable{k: p.k, inputs: map[string]*Value{}, outputs: map[string]*Value{}, profile: opts.Profile}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	var temps []*Value
	for _, v := range p.values {
		switch v.kind {
		case kindTemp:
			if v.first < 0 {
				continue // declared, never used
			}
			temps = append(temps, v)
			e.stats.NaiveTempBytes += v.bytes()
		case kindInput, kindOutput:
			t, err := NewTensor(p.k.dev, v.DType, v.Shape...)
			if err != nil {
				return nil, fmt.Errorf("compile: %s %s: %w", kindName(v.kind), v.Name, err)
			}
			e.owned = append(e.owned, t.Buf)
			v.t = t
			if v.kind == kindInput {
				e.inputs[v.Name] = v
				e.stats.InputBytes += v.bytes()
			} else {
				e.outputs[v.Name] = v
				e.stats.OutputBytes += v.bytes()
			}
		}
	}
	e.stats.ArenaBytes = planArena(temps)
	if e.stats.ArenaBytes > 0 {
		e.arena, err = p.k.dev.Alloc(e.stats.ArenaBytes)
		if err != nil {
			return nil, fmt.Errorf("compile: activation arena of %d bytes: %w", e.stats.ArenaBytes, err)
		}
		for _, v := range temps {
			v.t = Tensor{Buf: e.arena, Off: v.off, Shape: v.Shape, DType: v.DType}
		}
	}
	// Ops split into chunks (texel-view limits) record many dispatches each.
	e.rec, err = p.k.dev.NewRecorder(gpu.RecorderOptions{Profile: opts.Profile, MaxProfiled: max(4096, 8*len(p.ops))})
	if err != nil {
		return nil, err
	}
	get := func(v *Value) Tensor { return v.t }
	e.opDisp = make([]int, len(p.ops))
	for i, o := range p.ops {
		e.rec.Label(o.name)
		d0, _ := e.rec.Stats()
		if err := o.fn(e.rec, get); err != nil {
			return nil, fmt.Errorf("compile: op %d (%s): %w", i, o.name, err)
		}
		d1, _ := e.rec.Stats()
		e.opDisp[i] = d1 - d0
	}
	if err := e.rec.End(); err != nil {
		return nil, err
	}
	e.stats.Ops = len(p.ops)
	e.stats.Dispatches, e.stats.Barriers = e.rec.Stats()
	return e, nil
}

func kindName(k valueKind) string {
	switch k {
	case kindInput:
		return "input"
	case kindOutput:
		return "output"
	case kindConst:
		return "const"
	}
	return "temp"
}

// Stats reports the memory plan and recording.
func (e *Executable) Stats() PlanStats { return e.stats }

// SetInput uploads an input's values (float32 or int32, matching its dtype).
func (e *Executable) SetInput(ctx context.Context, name string, data any) error {
	v, ok := e.inputs[name]
	if !ok {
		return fmt.Errorf("set input: no input named %q", name)
	}
	var b []byte
	switch x := data.(type) {
	case []float32:
		if v.DType != F32 || len(x) != v.Len() {
			return fmt.Errorf("set input %s: %d float32 values for %s%v", name, len(x), v.DType, v.Shape)
		}
		if len(x) > 0 {
			b = unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
		}
	case []int32:
		if v.DType != I32 || len(x) != v.Len() {
			return fmt.Errorf("set input %s: %d int32 values for %s%v", name, len(x), v.DType, v.Shape)
		}
		if len(x) > 0 {
			b = unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
		}
	default:
		return fmt.Errorf("set input %s: unsupported type %T", name, data)
	}
	return e.k.dev.Upload(ctx, v.t.Buf, v.t.Off, b)
}

// Run replays the recorded program (one submit, one fence wait).
func (e *Executable) Run(ctx context.Context) error { return e.rec.Submit(ctx) }

// Output downloads a float32 output after Run.
func (e *Executable) Output(ctx context.Context, name string) ([]float32, error) {
	v, ok := e.outputs[name]
	if !ok {
		return nil, fmt.Errorf("output: no output named %q", name)
	}
	return ReadFloat32s(ctx, e.k.dev, v.t)
}

// OutputNames lists the outputs, sorted.
func (e *Executable) OutputNames() []string {
	names := make([]string, 0, len(e.outputs))
	for n := range e.outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// OutputShape is an output's shape (nil if there is no such output).
func (e *Executable) OutputShape(name string) []int {
	if v, ok := e.outputs[name]; ok {
		return append([]int(nil), v.Shape...)
	}
	return nil
}

// HasOutput reports whether the program has a named output.
func (e *Executable) HasOutput(name string) bool { _, ok := e.outputs[name]; return ok }

// OpTime is the GPU time of one op name summed over the program.
type OpTime struct {
	Op    string
	Count int
	Total time.Duration
}

// Profile returns per-op GPU times of the last run, summed by op name and sorted by total
// time (nil unless compiled with Profile on a device with timestamps).
func (e *Executable) Profile() ([]OpTime, error) {
	tm, err := e.rec.Timings()
	if err != nil || len(tm) == 0 {
		return nil, err
	}
	byName := map[string]*OpTime{}
	var order []*OpTime
	// Timings are in dispatch order: the first of an op's dispatches carries its label, the
	// rest (chunks) belong to it too; Count counts ops, not dispatches.
	next := 0
	for _, n := range e.opDisp {
		if n == 0 || next >= len(tm) {
			continue
		}
		name := tm[next].Label
		if i := strings.IndexByte(name, '#'); i >= 0 {
			name = name[:i]
		}
		o := byName[name]
		if o == nil {
			o = &OpTime{Op: name}
			byName[name] = o
			order = append(order, o)
		}
		o.Count++
		for _, t := range tm[next:min(next+n, len(tm))] {
			o.Total += t.Duration
		}
		next += n
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Total > order[j].Total })
	out := make([]OpTime, len(order))
	for i, o := range order {
		out[i] = *o
	}
	return out, nil
}

// Close frees the executable's buffers and command buffer.
func (e *Executable) Close() error {
	if e.rec != nil {
		e.rec.Close()
		e.rec = nil
	}
	if e.arena != nil {
		e.arena.Free()
		e.arena = nil
	}
	for _, b := range e.owned {
		b.Free()
	}
	e.owned = nil
	return nil
}
