package graph

import (
	"fmt"
	"os"
	"slices"
	"strconv"

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

	limits gpu.Limits
}

// Overrides force parts of the choice (tests, benchmarks, the VILT_* environment).
type Overrides struct {
	Gemm     string // "texel" or "tiled" (VILT_GEMM_VARIANT)
	Form     string // "texel" or "storage" (VILT_OPERANDS)
	Subgroup string // "0" turns shuffle forms off; a size forces it where supported (VILT_SUBGROUP)
}

// OverridesFromEnv reads the VILT_* knobs.
func OverridesFromEnv() Overrides {
	sg := os.Getenv("VILT_SUBGROUP")
	if sg == "" && os.Getenv("VILT_GEMM_SUBGROUP") == "0" {
		sg = "0"
	}
	return Overrides{Gemm: os.Getenv("VILT_GEMM_VARIANT"), Form: os.Getenv("VILT_OPERANDS"), Subgroup: sg}
}

// bigTexelLimit is the texel-buffer size above which texel views are the default form: with
// at least 4 Mi texels (64 MiB) ViLT's operands fit in a handful of views. Devices at or near
// Vulkan's minimum (65,536 texels) are GPUs and SwiftShader-like CPU drivers, whose texel
// fetches go through a sampler path and are not faster than storage loads (SwiftShader:
// measured in choice_test.go's comment and the README's driver table).
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

	c.RegForm = FormStorage
	if l.MaxTexelBufferElements >= bigTexelLimit {
		c.RegForm = FormTexel
	}
	switch o.Form {
	case "":
	case "texel":
		c.RegForm = FormTexel
	case "storage":
		c.RegForm = FormStorage
	default:
		return Choice{}, fmt.Errorf("VILT_OPERANDS: unknown form %q (want texel or storage)", o.Form)
	}
	c.ElementwiseTexel = c.RegForm == FormTexel

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

	c.RegTM, c.RegTN, c.RegLanes = regTile(c.Subgroup, c.RegForm)
	c.AttnWG = 64
	if c.Subgroup > 0 {
		c.AttnWG = max(8, c.Subgroup)
	} else if c.Gemm == GemmTexel {
		c.AttnWG = 8 // CPU-type: the lanes of a small workgroup share every K/V fetch
	}
	c.AttnWG = min(c.AttnWG, int(l.MaxComputeWorkGroupInvocations), int(l.MaxComputeWorkGroupSize[0]))
	return c, nil
}

// tallTM × tallTN is the shuffle form's tile on texel operands: each W fetch feeds 16 rows
// instead of 8. On lavapipe (Intel AVX-512 host, 8- and 4-lane subgroups) it does 13–21 % more
// GEMM work per CPU second than 8×12 at M = 201 and 1608 alike (README, "Why a pair costs…").
// Storage-form devices (SwiftShader) keep 8×12.
const tallTM, tallTN = 16, 6

// regTile is the register tile for a subgroup size and operand form (measured on lavapipe;
// see README).
func regTile(sg int, form Form) (tm, tn, lanes int) {
	switch {
	case sg == 0:
		return texelTM, texelTN, 8
	case sg <= 8 && form == FormTexel:
		return tallTM, tallTN, 8
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

// Describe lists the choice as "what: kernel" lines for `vilt devices`.
func (c Choice) Describe() [][2]string {
	gemm := fmt.Sprintf("register tiles %d×%d groups, %d lanes, %s operands", c.RegTM, c.RegTN, c.RegLanes, c.RegForm)
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
	ew := "scalar storage buffers"
	if c.ElementwiseTexel {
		ew = "texel buffers, 4 elements per invocation (scalar where a view exceeds the texel limit)"
	}
	return [][2]string{
		{"linear layers", gemm},
		{"subgroup shuffles", sg},
		{"attention", fmt.Sprintf("fused, %d queries per workgroup, %s operands", c.AttnWG, c.RegForm)},
		{"batched matmul", fmt.Sprintf("shared-memory tiles %d×%d×%d", c.Tile.BM, c.Tile.BN, c.Tile.BK)},
		{"element-wise ops", ew},
		{"texel views", fmt.Sprintf("≤ %d texels, offsets aligned to %d bytes", c.limits.MaxTexelBufferElements, c.texelAlign())},
	}
}
