package graph

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// Every kernel decision for a device is made here, from its reported type, limits and
// features (never its name), so that one table says what a device gets and tests can drive
// the choice with synthetic limit sets (choice_test.go). `vilt devices` prints Describe.

// Form is how the register-tiled kernels (GEMM, attention) and the element-wise fast paths
// read their large operands.
type Form int

// Operand forms.
const (
	// FormTexel reads RGBA32F uniform texel buffers: a vector gather on CPU drivers (3× a
	// storage-buffer load on lavapipe). Views hold at most maxTexelBufferElements texels, so
	// large operands are split into chunks.
	FormTexel Form = iota
	// FormStorage reads vec4 storage buffers.
	FormStorage
)

func (f Form) String() string {
	if f == FormTexel {
		return "texel"
	}
	return "storage"
}

// Choice is what a device gets.
type Choice struct {
	Gemm GemmVariant // Linear layers: register tiles (CPU-type) or shared-memory tiles
	Tile TileConfig  // the shared-memory tile (GemmTiled and BatchedMatMul)

	// The register-tiled kernels: operand form, tile (TM rows × TN 8-column groups per lane)
	// and workgroup (RegLanes = 8 × column octets).
	RegForm                Form
	RegTM, RegTN, RegLanes int

	// Subgroup is the subgroup size the shuffle forms are built for (0: shuffle forms off);
	// RequireSubgroup pins it through subgroup size control.
	Subgroup        int
	RequireSubgroup bool

	AttnWG int // attention workgroup (queries per workgroup)

	// ElementwiseTexel: element-wise ops read through texel buffers where a view fits.
	ElementwiseTexel bool

	// Precision is how the large weights are stored (fp32 or fp16; never auto here).
	Precision Precision

	limits gpu.Limits
	// halfTexel: RGBA16F uniform texel views; halfStorage: 16-bit storage-buffer reads.
	halfTexel, halfStorage bool
	// tileTM × tileTN: the register tile VILT_GEMM_TILE forces (0: regTile's).
	tileTM, tileTN int
}

// maxRegTile bounds a forced register tile: TM×TN accumulators per lane (the measured best
// on lavapipe is 96; far larger tiles only spill and take long to compile).
const maxRegTile = 256

// parseDims reads n positive integers (at most 1024) written as AxBx…, as the tile knobs
// spell them.
func parseDims(s string, n int) ([]int, bool) {
	f := strings.Split(s, "x")
	if len(f) != n {
		return nil, false
	}
	v := make([]int, n)
	for i := range f {
		d, err := strconv.Atoi(f[i])
		if err != nil || d < 1 || d > 1024 {
			return nil, false
		}
		v[i] = d
	}
	return v, true
}

// parseRegTile reads a VILT_GEMM_TILE value, "ROWSxGROUPS".
func parseRegTile(s string) (tm, tn int, err error) {
	v, ok := parseDims(s, 2)
	if !ok || v[0]*v[1] > maxRegTile {
		return 0, 0, fmt.Errorf("VILT_GEMM_TILE: %q is not a tile ROWSxGROUPS with ROWS×GROUPS between 1 and %d (such as 16x6)", s, maxRegTile)
	}
	return v[0], v[1], nil
}

// setRegTile sets the register tile for the current subgroup choice: regTile's, or the
// forced rows and groups with regTile's workgroup.
func (c *Choice) setRegTile() {
	c.RegTM, c.RegTN, c.RegLanes = regTile(c.gemmSubgroup(), c.RegForm)
	if c.tileTM > 0 {
		c.RegTM, c.RegTN = c.tileTM, c.tileTN
	}
}

// Overrides force parts of the choice (tests, benchmarks, the VILT_* environment).
type Overrides struct {
	Gemm     string // "texel" or "tiled" (VILT_GEMM_VARIANT)
	Form     string // "texel" or "storage" (VILT_OPERANDS)
	Subgroup string // "0" turns shuffle forms off; a size forces it where supported (VILT_SUBGROUP)
	Tile     string // the register tile, "ROWSxGROUPS" such as "24x4" (VILT_GEMM_TILE)
	Tiled    string // the shared-memory tile, "BMxBNxBKxTMxTN" (VILT_GEMM_TILED)

	// Precision is the weight precision asked for (LoadOptions.Precision; zero: auto).
	Precision Precision
}

// OverridesFromEnv reads the VILT_* knobs.
func OverridesFromEnv() Overrides {
	sg := os.Getenv("VILT_SUBGROUP")
	if sg == "" && os.Getenv("VILT_GEMM_SUBGROUP") == "0" {
		sg = "0"
	}
	return Overrides{Gemm: os.Getenv("VILT_GEMM_VARIANT"), Form: os.Getenv("VILT_OPERANDS"), Subgroup: sg,
		Tile: os.Getenv("VILT_GEMM_TILE"), Tiled: os.Getenv("VILT_GEMM_TILED")}
}

// bigTexelLimit is the texel-buffer size above which texel views are the default form
// everywhere: with at least 4 Mi texels (64 MiB) ViLT's operands fit in a handful of views.
// Below it, CPU-type devices still read the register-tiled GEMM's operands through texel
// views, in chunks: there a texel fetch is one 16-byte load per lane, while a storage-buffer
// load with per-lane offsets is a branch and a scalar load per lane and component
// (SwiftShader, 65,536 texels: 2× the GFLOPS of the storage form on ViLT's shapes). The
// element-wise fast paths keep storage buffers there (views of a few activations only).
const bigTexelLimit = 1 << 22

// Choose decides every kernel for a device.
func Choose(info gpu.DeviceInfo, o Overrides) (Choice, error) {
	l := info.Limits
	c := Choice{limits: l}
	var err error
	if c.Gemm, err = chooseGemmVariant(info, o.Gemm); err != nil {
		return Choice{}, err
	}
	c.Tile = chooseTile(info)
	if o.Tiled != "" {
		t, err := ParseTileConfig(o.Tiled)
		if err != nil {
			return Choice{}, err
		}
		if !t.Fits(l) {
			return Choice{}, fmt.Errorf("VILT_GEMM_TILED: tile %s needs %d invocations and %d bytes of shared memory; the device allows %d and %d",
				t, t.Threads(), t.SharedBytes(), l.MaxComputeWorkGroupInvocations, l.MaxComputeSharedMemorySize)
		}
		c.Tile = t
	}

	c.RegForm = FormStorage
	if l.MaxTexelBufferElements >= bigTexelLimit || info.Type == gpu.TypeCPU {
		c.RegForm = FormTexel
	}
	c.ElementwiseTexel = l.MaxTexelBufferElements >= bigTexelLimit
	switch o.Form {
	case "":
	case "texel":
		c.RegForm, c.ElementwiseTexel = FormTexel, true
	case "storage":
		c.RegForm, c.ElementwiseTexel = FormStorage, false
	default:
		return Choice{}, fmt.Errorf("VILT_OPERANDS: unknown form %q (want texel or storage)", o.Form)
	}

	c.Subgroup, c.RequireSubgroup = chooseSubgroup(info.Features, l)
	switch o.Subgroup {
	case "":
	case "0", "off":
		c.Subgroup, c.RequireSubgroup = 0, false
	default:
		n, err := strconv.Atoi(o.Subgroup)
		if err != nil || n <= 0 {
			return Choice{}, fmt.Errorf("VILT_SUBGROUP: %q is not a subgroup size", o.Subgroup)
		}
		if !subgroupSizeOK(info.Features, l, n) {
			return Choice{}, fmt.Errorf("VILT_SUBGROUP: the device cannot run shuffle kernels with %d-lane subgroups", n)
		}
		c.Subgroup = n
		c.RequireSubgroup = info.Features.SubgroupSizeControl && n != int(info.Features.SubgroupSize)
	}

	if o.Tile != "" {
		if c.tileTM, c.tileTN, err = parseRegTile(o.Tile); err != nil {
			return Choice{}, err
		}
	}
	c.setRegTile()
	c.AttnWG = 64
	if c.Subgroup > 0 {
		c.AttnWG = max(8, c.Subgroup)
	} else if c.Gemm == GemmTexel {
		c.AttnWG = 8 // CPU-type: the lanes of a small workgroup share every K/V fetch
	}
	c.AttnWG = min(c.AttnWG, int(l.MaxComputeWorkGroupInvocations), int(l.MaxComputeWorkGroupSize[0]))

	c.halfTexel, c.halfStorage = info.Features.UniformTexelRGBA16F, info.Features.StorageBuffer16BitAccess
	if c.Precision, err = c.choosePrecision(info, o.Precision); err != nil {
		return Choice{}, err
	}
	return c, nil
}

// gemmShuffleMin is the narrowest subgroup for which the register-tiled GEMM's shuffle form
// is used: with 4 lanes the shuffles cost more than the X fetches they save (measured at
// M=202 on ViLT's shapes, GFLOPS per 2 CPU-seconds, shuffle vs plain: lavapipe at 128 bits
// 37-39 vs 45-52, SwiftShader 8-10 vs 11-12.5).
const gemmShuffleMin = 8

// gemmSubgroup is the subgroup size the GEMM's shuffle form is built for (0: plain form).
func (c Choice) gemmSubgroup() int {
	if c.Subgroup >= gemmShuffleMin {
		return c.Subgroup
	}
	return 0
}

// tallTM × tallTN is the shuffle form's tile on texel operands with 8-lane subgroups (wider
// ones keep tallTM rows and share the 48 columns): each W fetch feeds 16 rows instead of 8.
// On lavapipe (Intel AVX-512 host) it does 13–21 % more GEMM work per CPU second than 8×12 at
// M = 201 and 1608 alike, and at 16 lanes 16×3 does 1.19–1.24× the work of 8×6
// (docs/performance.md). Storage-form devices keep 8×12; 4-lane devices use no GEMM shuffles
// (gemmShuffleMin).
const tallTM, tallTN = 16, 6

// regTile is the register tile for a subgroup size and operand form (measured on lavapipe;
// see docs/performance.md).
func regTile(sg int, form Form) (tm, tn, lanes int) {
	switch {
	case sg == 0:
		return texelTM, texelTN, 8
	case form == FormTexel:
		// Wider subgroups: the workgroup is one subgroup of sg lanes, sg/8 column octets.
		return tallTM, max(1, tallTN*8/sg), max(8, sg)
	case sg <= 8:
		return 8, texelSGTN, 8
	default:
		// Wider subgroups: the workgroup is one subgroup of sg lanes, sg/8 column octets.
		return 8, max(1, texelSGTN*8/sg), sg
	}
}

// shuffleSizes are the subgroup sizes the shuffle kernels are built for.
var shuffleSizes = []int{4, 8, 16, 32, 64}

// subgroupSizeOK reports whether shuffle kernels can run with n-lane subgroups: shuffles in
// compute shaders, n a size they are built for, and n either the device's fixed size or one
// it can pin with subgroup size control; the workgroup (max(8, n) lanes) within the limits.
func subgroupSizeOK(f gpu.Features, l gpu.Limits, n int) bool {
	if !f.SubgroupInCompute || !slices.Contains(f.SubgroupOperations, "shuffle") || !slices.Contains(shuffleSizes, n) {
		return false
	}
	lanes := max(8, n)
	if lanes > int(l.MaxComputeWorkGroupInvocations) || lanes > int(l.MaxComputeWorkGroupSize[0]) {
		return false
	}
	if f.SubgroupSizeControl && f.MinSubgroupSize > 0 {
		return n >= int(f.MinSubgroupSize) && n <= int(f.MaxSubgroupSize)
	}
	if f.MinSubgroupSize > 0 && f.MinSubgroupSize != f.MaxSubgroupSize {
		return false // the size may vary between dispatches and cannot be pinned
	}
	return n == int(f.SubgroupSize)
}

// chooseSubgroup picks the shuffle kernels' subgroup size: 8 (the size they were tuned for)
// where the device can pin it, else the device's own size where that is fixed.
func chooseSubgroup(f gpu.Features, l gpu.Limits) (int, bool) {
	if f.SubgroupSizeControl && int(f.SubgroupSize) != 8 && subgroupSizeOK(f, l, 8) {
		return 8, true
	}
	if n := int(f.SubgroupSize); subgroupSizeOK(f, l, n) {
		return n, false
	}
	return 0, false
}

// texelLimit is the largest texel view in texels; storageLimit the largest storage binding
// in 16-byte texels.
func (c Choice) texelLimit() int { return int(min(c.limits.MaxTexelBufferElements, 1<<30)) }
func (c Choice) storageLimit() int {
	return int(min(c.limits.MaxStorageBufferRange/16, 1<<30))
}

// texelAlign and storageAlign are the byte alignments of view offsets (at least one texel).
func (c Choice) texelAlign() uint64   { return max(c.limits.MinTexelBufferOffsetAlignment, 16) }
func (c Choice) storageAlign() uint64 { return max(c.limits.MinStorageBufferOffsetAlignment, 16) }

// Precision is how a model's large weights (GEMM weights, the word embeddings) are stored on
// the device. Arithmetic and accumulation are float32 either way.
type Precision int

// Precisions.
const (
	// PrecisionAuto: fp16 where the device can read half-precision weights and they measured
	// faster on its kind of device, else fp32.
	PrecisionAuto Precision = iota
	PrecisionFP32
	PrecisionFP16
)

func (p Precision) String() string {
	switch p {
	case PrecisionFP32:
		return "fp32"
	case PrecisionFP16:
		return "fp16"
	}
	return "auto"
}

// ParsePrecision reads "fp32", "fp16" or "auto" ("" is auto).
func ParsePrecision(s string) (Precision, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return PrecisionAuto, nil
	case "fp32", "f32", "float32":
		return PrecisionFP32, nil
	case "fp16", "f16", "float16", "half":
		return PrecisionFP16, nil
	}
	return 0, fmt.Errorf("unknown precision %q (want fp32, fp16 or auto)", s)
}

// halfGemm reports whether the chosen Linear kernels can read half-precision weights: the
// register-tiled GEMM through RGBA16F texel views (texel form) or 16-bit storage (storage
// form), the tiled GEMM through 16-bit storage.
func (c Choice) halfGemm() bool {
	if c.Gemm == GemmTexel && c.RegForm == FormTexel {
		return c.halfTexel
	}
	return c.halfStorage
}

// halfAuto says whether auto picks fp16 on a kind of device that can read it; only measured
// kinds say yes. CPU type (lavapipe, `go test ./graph -bench GEMM`, fp32 vs fp16 interleaved
// under load): the register-tiled GEMM is compute-bound there, and widening RGBA16F texels
// costs 5-7% more CPU time per FLOP (55-61 vs 57-68 GFLOPS per CPU-second at M = 202 and
// 2152), so fp32. GPUs: not measured yet (no GPU at hand), so fp32 until one is.
func halfAuto(t gpu.DeviceType) bool { return false }

// choosePrecision resolves the precision asked for: fp16 is an error where the chosen
// kernels cannot read half weights; auto is fp16 only where supported and measured faster.
func (c Choice) choosePrecision(info gpu.DeviceInfo, p Precision) (Precision, error) {
	switch p {
	case PrecisionFP32:
		return PrecisionFP32, nil
	case PrecisionFP16:
		if !c.halfGemm() {
			need := "storageBuffer16BitAccess"
			if c.Gemm == GemmTexel && c.RegForm == FormTexel {
				need = "R16G16B16A16_SFLOAT uniform texel buffers"
			}
			return 0, fmt.Errorf("precision fp16: the device cannot read half-precision weights: its %s GEMM reads %s operands, "+
				"which needs %s, and the device has none; use fp32", c.Gemm, c.RegForm, need)
		}
		return PrecisionFP16, nil
	}
	if c.halfGemm() && halfAuto(info.Type) {
		return PrecisionFP16, nil
	}
	return PrecisionFP32, nil
}

// Describe lists the choice as "what: kernel" lines for `vilt devices`.
func (c Choice) Describe() [][2]string {
	gemm := fmt.Sprintf("register tiles %d×%d groups, %d lanes, %s operands", c.RegTM, c.RegTN, c.RegLanes, c.RegForm)
	if c.Subgroup > 0 && c.gemmSubgroup() == 0 {
		gemm += fmt.Sprintf(", no shuffles (fewer than %d lanes)", gemmShuffleMin)
	}
	if c.Gemm == GemmTiled {
		gemm = fmt.Sprintf("shared-memory tiles %d×%d×%d, %d invocations", c.Tile.BM, c.Tile.BN, c.Tile.BK, c.Tile.Threads())
	}
	sg := "off"
	if c.Subgroup > 0 {
		sg = fmt.Sprintf("%d lanes", c.Subgroup)
		if c.RequireSubgroup {
			sg += " (pinned by size control)"
		}
	}
	attn := fmt.Sprintf("fused, %d queries per workgroup, %s operands", c.AttnWG, c.RegForm)
	if c.RegForm == FormTexel && c.limits.MaxTexelBufferElements < bigTexelLimit {
		attn += " where a sequence's QKV fits one view (else storage)"
	}
	ew := "scalar storage buffers"
	if c.ElementwiseTexel {
		ew = "texel buffers, 4 elements per invocation (scalar where a view exceeds the texel limit)"
	}
	return [][2]string{
		{"linear layers", gemm},
		{"subgroup shuffles", sg},
		{"attention", attn},
		{"batched matmul", fmt.Sprintf("shared-memory tiles %d×%d×%d", c.Tile.BM, c.Tile.BN, c.Tile.BK)},
		{"element-wise ops", ew},
		{"weights", c.describePrecision()},
		{"texel views", fmt.Sprintf("≤ %d texels, offsets aligned to %d bytes", c.limits.MaxTexelBufferElements, c.texelAlign())},
	}
}

func (c Choice) describePrecision() string {
	if c.Precision == PrecisionFP16 {
		how := "16-bit storage buffers"
		if c.Gemm == GemmTexel && c.RegForm == FormTexel {
			how = "RGBA16F texel views"
		}
		return "fp16 (GEMM weights and word embeddings stored as half, read through " + how + "; fp32 arithmetic)"
	}
	avail := "fp16 not available on this device"
	if c.halfGemm() {
		avail = "fp16 available (--precision fp16)"
	}
	return "fp32 (" + avail + ")"
}
