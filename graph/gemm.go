package graph

import (
	"context"
	"fmt"
	"strings"
	"unsafe"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// GemmVariant is a family of GEMM kernels and the weight layout it needs.
type GemmVariant int

// GEMM variants.
const (
	// GemmTexel is the CPU-type variant: texel-buffer operands, weights repacked at load,
	// register tiles, no shared memory (fast on lavapipe and other CPU drivers).
	GemmTexel GemmVariant = iota
	// GemmTiled is the GPU-type variant: shared-memory tiles, storage buffers, vec4 loads,
	// weights kept as loaded ([N,K]).
	GemmTiled
)

func (v GemmVariant) String() string {
	if v == GemmTexel {
		return "texel"
	}
	return "tiled"
}

// ParseGemmVariant reads a variant name ("texel" or "tiled").
func ParseGemmVariant(s string) (GemmVariant, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "texel", "cpu":
		return GemmTexel, nil
	case "tiled", "gpu", "shared":
		return GemmTiled, nil
	}
	return 0, fmt.Errorf("unknown GEMM variant %q (want texel or tiled)", s)
}

// chooseGemmVariant picks the variant for a device: texel on CPU devices (and wherever the
// device cannot give the tiled kernel its shared memory), tiled on GPUs. override (from
// VILT_GEMM_VARIANT) forces one.
func chooseGemmVariant(info gpu.DeviceInfo, override string) (GemmVariant, error) {
	if override != "" {
		v, err := ParseGemmVariant(override)
		if err != nil {
			return 0, fmt.Errorf("VILT_GEMM_VARIANT: %w", err)
		}
		return v, nil
	}
	if info.Type == gpu.TypeCPU {
		return GemmTexel, nil
	}
	if info.Limits.MaxComputeSharedMemorySize < tiledShared || info.Limits.MaxComputeWorkGroupInvocations < tiledThreads {
		return GemmTexel, nil
	}
	return GemmTiled, nil
}

// GemmVariant reports the variant the kernels use for Linear layers.
func (k *Kernels) GemmVariant() GemmVariant { return k.choice.Gemm }

// SetGemmVariant changes the variant for weights uploaded from now on (tests, benchmarks).
func (k *Kernels) SetGemmVariant(v GemmVariant) { k.choice.Gemm = v }

// Tile shapes of the variants.
const (
	texelTM, texelTN = 8, 8 // rows × 8-column groups per workgroup (64 accumulators a lane; swept on lavapipe)
	texelSGTN        = 12   // the subgroup form's column groups (swept: 8, 10, 12, 16; 12 best)

	tiledThreads = 128                        // the small tile's workgroup: within every device's minimum
	tiledShared  = (64 + 1 + 64 + 1) * 16 * 4 // its shared memory: 8.3 KiB
)

// TileConfig is a gemm_tiled tile: BM×BN outputs per workgroup, BK-deep shared-memory
// slices, TM×TN outputs per invocation.
type TileConfig struct{ BM, BN, BK, TM, TN int }

// Threads is the workgroup size.
func (c TileConfig) Threads() int { return (c.BM / c.TM) * (c.BN / c.TN) }

// SharedBytes is the shared memory the tile needs.
func (c TileConfig) SharedBytes() int { return (c.BM + 1 + c.BN + 1) * c.BK * 4 }

// The tiled variant's tiles: the small one fits SwiftShader-like minimums (128 invocations,
// 16 KiB shared memory); the large one is used where the device allows 256 invocations and
// 32 KiB (every desktop GPU).
var (
	TileSmall = TileConfig{BM: 64, BN: 64, BK: 16, TM: 8, TN: 4}
	TileLarge = TileConfig{BM: 128, BN: 128, BK: 16, TM: 8, TN: 8}
)

// chooseTile picks the largest tile the device's limits allow.
func chooseTile(info gpu.DeviceInfo) TileConfig {
	if TileLarge.Fits(info.Limits) {
		return TileLarge
	}
	return TileSmall
}

// Fits reports whether the device runs the tile: its workgroup and shared memory within the
// limits.
func (c TileConfig) Fits(l gpu.Limits) bool {
	return int(l.MaxComputeWorkGroupInvocations) >= c.Threads() && int(l.MaxComputeSharedMemorySize) >= c.SharedBytes() &&
		int(l.MaxComputeWorkGroupSize[0]) >= c.BN/c.TN && int(l.MaxComputeWorkGroupSize[1]) >= c.BM/c.TM
}

// String is the tile as VILT_GEMM_TILED spells it: BMxBNxBKxTMxTN.
func (c TileConfig) String() string {
	return fmt.Sprintf("%dx%dx%dx%dx%d", c.BM, c.BN, c.BK, c.TM, c.TN)
}

// ParseTileConfig reads a tile spelt BMxBNxBKxTMxTN (VILT_GEMM_TILED). BM and BN must be
// multiples of TM and TN, BK of 4, and each invocation holds at most 256 accumulators.
func ParseTileConfig(s string) (TileConfig, error) {
	v, ok := parseDims(s, 5)
	var c TileConfig
	if ok {
		c = TileConfig{BM: v[0], BN: v[1], BK: v[2], TM: v[3], TN: v[4]}
	}
	if !ok || c.BM%c.TM != 0 || c.BN%c.TN != 0 || c.BK%4 != 0 || c.TM*c.TN > maxRegTile {
		return TileConfig{}, fmt.Errorf("VILT_GEMM_TILED: %q is not a tile BMxBNxBKxTMxTN (BM a multiple of TM, BN of TN, BK of 4, TM×TN at most %d; such as 128x128x16x8x8)", s, maxRegTile)
	}
	return c, nil
}

// TileCandidates are the tiles BenchmarkGEMMTiles sweeps (those that fit the device): the two
// defaults and their neighbours in each direction (tile size, depth, per-invocation block).
var TileCandidates = []TileConfig{
	TileSmall, TileLarge,
	{BM: 64, BN: 64, BK: 16, TM: 4, TN: 4}, {BM: 64, BN: 64, BK: 32, TM: 4, TN: 4},
	{BM: 128, BN: 64, BK: 16, TM: 8, TN: 4}, {BM: 64, BN: 128, BK: 16, TM: 4, TN: 8},
	{BM: 128, BN: 64, BK: 32, TM: 8, TN: 8}, {BM: 128, BN: 128, BK: 8, TM: 8, TN: 8},
	{BM: 128, BN: 128, BK: 32, TM: 8, TN: 8}, {BM: 128, BN: 128, BK: 16, TM: 4, TN: 8},
	{BM: 256, BN: 128, BK: 16, TM: 8, TN: 8}, {BM: 128, BN: 256, BK: 16, TM: 8, TN: 8},
}

// SetTexelSubgroup turns the subgroup-shuffle forms of the register-tiled GEMM and of
// attention on (at the size Choose picked for the device) or off (tests, benchmarks); they
// stay off where the device cannot run them.
func (k *Kernels) SetTexelSubgroup(on bool) {
	c := k.choice
	c.Subgroup, c.RequireSubgroup = 0, false
	if on {
		c.Subgroup, c.RequireSubgroup = chooseSubgroup(k.info.Features, k.info.Limits)
	}
	k.choice.Subgroup, k.choice.RequireSubgroup = c.Subgroup, c.RequireSubgroup
	k.choice.setRegTile()
}

// TexelSubgroup reports whether the shuffle forms are on.
func (k *Kernels) TexelSubgroup() bool { return k.choice.Subgroup > 0 }

// SetTile forces the tiled variant's tile (tests, benchmarks).
func (k *Kernels) SetTile(c TileConfig) { k.choice.Tile = c }

// SetForm forces the operand form of the register-tiled and element-wise kernels (tests,
// benchmarks).
func (k *Kernels) SetForm(f Form) {
	k.choice.RegForm = f
	k.choice.ElementwiseTexel = f == FormTexel
}

// Epilogue says what the GEMM applies to X·Wᵀ before it writes Y, in this order: + bias,
// activation (GELU or tanh), + residual.
type Epilogue uint32

// Epilogue flags (the same bits as EPI_* in shaders/math.glsl).
const (
	EpiBias     Epilogue = 1
	EpiGELU     Epilogue = 2
	EpiResidual Epilogue = 4
	EpiTanh     Epilogue = 8
)

// Linear is a PyTorch Linear layer (y = x·Wᵀ + b) uploaded to a device in the layout of the
// GEMM variant chosen for it.
type Linear struct {
	N, K    int
	Variant GemmVariant
	W       Tensor  // texel: packed [ceil(N/8), K/4, 8, 4]; tiled: [N, K] as loaded; F32 or F16
	Bias    *Tensor // [N] or nil
}

// Free releases the layer's device memory.
func (l *Linear) Free() {
	if l == nil {
		return
	}
	if l.W.Buf != nil {
		l.W.Buf.Free()
	}
	if l.Bias != nil {
		l.Bias.Buf.Free()
	}
}

// Bytes is the device memory the layer holds.
func (l *Linear) Bytes() uint64 {
	n := l.W.Bytes()
	if l.Bias != nil {
		n += l.Bias.Bytes()
	}
	return n
}

// UploadLinear uploads a Linear weight w ([N,K] row-major, as PyTorch stores it) and an
// optional bias [N], packing it for the kernels' GEMM variant. Packing streams in chunks, so
// no second full copy of the weight is held. The texel variant needs K % 4 == 0; other
// shapes use the tiled variant. With Precision fp16 the weight is stored as half where the
// layer's kernel can read it (the bias stays float32).
func (k *Kernels) UploadLinear(ctx context.Context, w []float32, bias []float32, n, kdim int) (*Linear, error) {
	if n <= 0 || kdim <= 0 || len(w) != n*kdim {
		return nil, fmt.Errorf("upload linear: weight has %d values, want %d×%d", len(w), n, kdim)
	}
	if bias != nil && len(bias) != n {
		return nil, fmt.Errorf("upload linear: bias has %d values, want %d", len(bias), n)
	}
	l := &Linear{N: n, K: kdim, Variant: k.choice.Gemm}
	if l.Variant == GemmTexel && kdim%4 != 0 {
		l.Variant = GemmTiled
	}
	half := k.halfLinear(l.Variant, kdim)
	var err error
	switch {
	case l.Variant == GemmTexel:
		l.W, err = k.uploadPacked(ctx, w, n, kdim, half)
	case half:
		l.W, err = UploadHalf(ctx, k.dev, w, n, kdim)
	default:
		l.W, err = UploadTensor(ctx, k.dev, w, n, kdim)
	}
	if err != nil {
		return nil, fmt.Errorf("upload linear %d×%d: %w", n, kdim, err)
	}
	if bias != nil {
		b, err := UploadTensor(ctx, k.dev, bias, n)
		if err != nil {
			l.Free()
			return nil, fmt.Errorf("upload linear bias: %w", err)
		}
		l.Bias = &b
	}
	return l, nil
}

// PackTexel repacks rows [g·8, g·8+8) of an [N,K] weight into the texel layout
// [K/4][8][4] of group g (rows past N are zero). dst has 8·K values.
func PackTexel(dst, w []float32, n, kdim, g int) {
	k4 := kdim / 4
	for q := 0; q < k4; q++ {
		for l := 0; l < 8; l++ {
			row := g*8 + l
			o := (q*8 + l) * 4
			if row >= n {
				dst[o], dst[o+1], dst[o+2], dst[o+3] = 0, 0, 0, 0
				continue
			}
			copy(dst[o:o+4], w[row*kdim+q*4:row*kdim+q*4+4])
		}
	}
}

func (k *Kernels) uploadPacked(ctx context.Context, w []float32, n, kdim int, half bool) (Tensor, error) {
	groups := (n + 7) / 8
	dt := F32
	if half {
		dt = F16
	}
	t, err := NewTensor(k.dev, dt, groups, kdim/4, 8, 4)
	if err != nil {
		return Tensor{}, err
	}
	const chunkGroups = 64
	buf := make([]float32, chunkGroups*8*kdim)
	for g0 := 0; g0 < groups; g0 += chunkGroups {
		ng := min(chunkGroups, groups-g0)
		for g := 0; g < ng; g++ {
			PackTexel(buf[g*8*kdim:(g+1)*8*kdim], w, n, kdim, g0+g)
		}
		off := t.Off + uint64(dt.Size()*g0*8*kdim)
		if half {
			err = uploadHalfAt(ctx, k.dev, t.Buf, off, buf[:ng*8*kdim])
		} else {
			err = k.dev.Upload(ctx, t.Buf, off, unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), 4*ng*8*kdim))
		}
		if err != nil {
			t.Buf.Free()
			return Tensor{}, err
		}
	}
	return t, nil
}

// halfLinear says whether a layer of variant v and depth kdim is stored as half: Precision
// fp16 and a kernel that reads it on this device (the register-tiled GEMM through RGBA16F
// texel views, or through 16-bit storage where it reads storage buffers, as it does when one
// row or 8-row group of W exceeds a texel view; the tiled GEMM through 16-bit storage). Layers
// no half kernel can read stay float32.
func (k *Kernels) halfLinear(v GemmVariant, kdim int) bool {
	c := k.choice
	if c.Precision != PrecisionFP16 {
		return false
	}
	if c.halfStorage {
		return true
	}
	if v != GemmTexel || c.RegForm != FormTexel || !c.halfTexel {
		return false
	}
	align := int(c.texelAlign() / 8) // view offsets may start up to this many half texels early
	return regChunk(1, kdim/4*8, align, c.texelLimit(), 1) > 0
}

// SetPrecision changes the weight precision for weights uploaded from now on: fp16 is an
// error where the device cannot read half weights with its kernels, auto resolves as Choose
// does.
func (k *Kernels) SetPrecision(p Precision) error {
	r, err := k.choice.choosePrecision(k.info, p)
	if err != nil {
		return err
	}
	k.choice.Precision = r
	return nil
}

// Precision is the weight precision the kernels store new weights in (fp32 or fp16).
func (k *Kernels) Precision() Precision { return k.choice.Precision }

// dummy returns a small buffer bound where a kernel's optional binding is unused.
func (k *Kernels) dummy() (gpu.Binding, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dummyBuf == nil {
		b, err := k.dev.Alloc(256)
		if err != nil {
			return gpu.Binding{}, err
		}
		k.dummyBuf = b
	}
	return k.dummyBuf.Whole(), nil
}

// Linear records y = epilogue(x·Wᵀ + b) for x [..., K] → y [..., N]. residual ([..., N]) is
// required with EpiResidual and ignored otherwise; EpiBias is implied when the layer has a
// bias. y must not overlap x.
func (k *Kernels) Linear(rec *gpu.Recorder, y, x Tensor, l *Linear, epi Epilogue, residual *Tensor) error {
	const op = "linear"
	if l == nil {
		return fmt.Errorf("%s: nil layer", op)
	}
	if len(x.Shape) == 0 || x.Dim(-1) != l.K {
		return fmt.Errorf("%s: x %v does not end in K=%d", op, x.Shape, l.K)
	}
	m := x.Rows()
	if len(y.Shape) == 0 || y.Dim(-1) != l.N || y.Rows() != m {
		return fmt.Errorf("%s: y %v, want %d rows of %d", op, y.Shape, m, l.N)
	}
	if err := joinErr(checkDType(op, "x", x, F32), checkDType(op, "y", y, F32)); err != nil {
		return err
	}
	if l.Bias != nil {
		epi |= EpiBias
	} else {
		epi &^= EpiBias
	}
	var res *Tensor
	if epi&EpiResidual != 0 {
		if residual == nil || residual.Len() != m*l.N {
			return fmt.Errorf("%s: residual must be %d×%d", op, m, l.N)
		}
		res = residual
	}
	if l.Variant == GemmTexel {
		return k.linearReg(rec, y, x, l, epi, res)
	}
	return k.tiled(rec, y, x, l.W, l.Bias, res, tiledArgs{
		M: m, N: l.N, K: l.K, ldx: l.K, ldw: l.K, ldy: l.N, ldr: l.N, batch: 1, alpha: 1, epi: epi,
	})
}

// tiledArgs are the shapes and strides (in elements) of one gemm_tiled dispatch.
type tiledArgs struct {
	M, N, K            int
	ldx, ldw, ldy, ldr int
	bx, bw, by, br     int
	batch              int
	alpha              float32
	epi                Epilogue
	wt                 bool // W is [K,N]
}

func (k *Kernels) tiled(rec *gpu.Recorder, y, x, w Tensor, bias, res *Tensor, a tiledArgs) error {
	const op = "gemm"
	bd := k.binder(op)
	x0 := bd.add("x", x)
	w0 := bd.add("w", w)
	var b0, r0 uint32
	dummy, err := k.dummy()
	if err != nil {
		return err
	}
	if bias != nil {
		b0 = bd.add("bias", *bias)
	} else {
		bd.binds = append(bd.binds, dummy)
	}
	if res != nil {
		r0 = bd.add("residual", *res)
	} else {
		bd.binds = append(bd.binds, dummy)
	}
	y0 := bd.add("y", y)
	if bd.err != nil {
		return bd.err
	}
	vec4 := !a.wt && a.K%4 == 0 && a.ldx%4 == 0 && a.ldw%4 == 0 && a.bx%4 == 0 && a.bw%4 == 0 && x0%4 == 0 && w0%4 == 0
	c := k.choice.Tile
	name := "gemm_tiled"
	if w.DType == F16 {
		if !k.choice.halfStorage {
			return fmt.Errorf("%s: half-precision W needs storageBuffer16BitAccess", op)
		}
		name = "gemm_tiled_h"
	}
	kern, err := k.kernel(name, []gpu.BindingKind{rd, rd, rd, rd, wr}, 17*4,
		gpu.SpecUint(0, uint32(c.BM)), gpu.SpecUint(1, uint32(c.BN)), gpu.SpecUint(2, uint32(c.BK)),
		gpu.SpecUint(3, uint32(c.TM)), gpu.SpecUint(4, uint32(c.TN)), gpu.SpecUint(5, uint32(a.epi)),
		gpu.SpecUint(6, b2u(a.wt)), gpu.SpecUint(7, b2u(vec4)),
		gpu.SpecUint(8, uint32(c.BN/c.TN)), gpu.SpecUint(9, uint32(c.BM/c.TM)))
	if err != nil {
		return err
	}
	push := gpu.Push(uint32(a.M), uint32(a.N), uint32(a.K), uint32(a.ldx), uint32(a.ldw), uint32(a.ldy), uint32(a.ldr),
		uint32(a.bx), uint32(a.bw), uint32(a.by), uint32(a.br), a.alpha, x0, w0, y0, r0, b0)
	grid := [3]uint32{uint32((a.N + c.BN - 1) / c.BN), uint32((a.M + c.BM - 1) / c.BM), uint32(a.batch)}
	return rec.Dispatch(kern, grid, push, bd.binds...)
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// MatMulOpts describe a batched, strided matrix product for BatchedMatMul.
type MatMulOpts struct {
	M, N, K int
	Batch   int
	// Row strides (elements) of X, W and Y; 0 means dense (K, K or N, N).
	LDX, LDW, LDY int
	// Element strides between batch items; 0 shares the operand across the batch.
	StrideX, StrideW, StrideY int
	// TransW says W is stored [K,N] (y = x·W) instead of PyTorch's [N,K] (y = x·Wᵀ).
	TransW bool
	Alpha  float32 // scale of the product (0 means 1)
}

// BatchedMatMul records Y[b] = alpha · X[b] · op(W[b]) for b < Batch with arbitrary row and
// batch strides (views into larger tensors, as attention's per-head slices are). It uses the
// storage-buffer tiled kernel on every device.
func (k *Kernels) BatchedMatMul(rec *gpu.Recorder, y, x, w Tensor, o MatMulOpts) error {
	if o.Batch <= 0 {
		o.Batch = 1
	}
	if o.M <= 0 || o.N <= 0 || o.K <= 0 {
		return fmt.Errorf("batched matmul: bad shape %d×%d×%d", o.M, o.N, o.K)
	}
	if o.LDX == 0 {
		o.LDX = o.K
	}
	if o.LDW == 0 {
		if o.TransW {
			o.LDW = o.N
		} else {
			o.LDW = o.K
		}
	}
	if o.LDY == 0 {
		o.LDY = o.N
	}
	if o.Alpha == 0 {
		o.Alpha = 1
	}
	need := func(t Tensor, name string, rows, ld, cols, stride int) error {
		last := (o.Batch-1)*stride + (rows-1)*ld + cols
		if t.Len() < last {
			return fmt.Errorf("batched matmul: %s has %d elements, the strides reach %d", name, t.Len(), last)
		}
		return nil
	}
	wr, wc := o.N, o.K
	if o.TransW {
		wr, wc = o.K, o.N
	}
	if err := joinErr(need(x, "x", o.M, o.LDX, o.K, o.StrideX), need(w, "w", wr, o.LDW, wc, o.StrideW), need(y, "y", o.M, o.LDY, o.N, o.StrideY)); err != nil {
		return err
	}
	if o.Batch > int(k.info.Limits.MaxComputeWorkGroupCount[2]) {
		return fmt.Errorf("batched matmul: batch %d exceeds the device's %d", o.Batch, k.info.Limits.MaxComputeWorkGroupCount[2])
	}
	return k.tiled(rec, y, x, w, nil, nil, tiledArgs{
		M: o.M, N: o.N, K: o.K, ldx: o.LDX, ldw: o.LDW, ldy: o.LDY, ldr: o.LDY,
		bx: o.StrideX, bw: o.StrideW, by: o.StrideY, batch: o.Batch, alpha: o.Alpha, wt: o.TransW,
	})
}
