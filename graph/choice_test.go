package graph

import (
	"strings"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// Synthetic devices: what each kind of implementation reports (the numbers are real ones:
// lavapipe at 128/256/512-bit vectors, SwiftShader, a desktop GPU with size control, a
// mobile GPU at Vulkan's minimums).
func synthDevice(kind string) gpu.DeviceInfo {
	all := []string{"basic", "vote", "arithmetic", "ballot", "shuffle", "shuffle_relative", "clustered", "quad"}
	info := gpu.DeviceInfo{Type: gpu.TypeCPU}
	l := &info.Limits
	f := &info.Features
	l.MaxStorageBufferRange = 128 << 20
	l.MaxTexelBufferElements = 134217728
	l.MaxComputeSharedMemorySize = 32768
	l.MaxComputeWorkGroupInvocations = 1024
	l.MaxComputeWorkGroupSize = [3]uint32{1024, 1024, 1024}
	l.MaxComputeWorkGroupCount = [3]uint32{65535, 65535, 65535}
	l.MinStorageBufferOffsetAlignment = 16
	l.MinTexelBufferOffsetAlignment = 16
	f.SubgroupInCompute = true
	f.SubgroupOperations = all
	switch kind {
	case "lavapipe-128", "lavapipe-256", "lavapipe-512":
		n := map[string]uint32{"lavapipe-128": 4, "lavapipe-256": 8, "lavapipe-512": 16}[kind]
		f.SubgroupSize, f.MinSubgroupSize, f.MaxSubgroupSize, f.SubgroupSizeControl = n, n, n, true
	case "swiftshader":
		l.MaxStorageBufferRange = 1 << 30
		l.MaxTexelBufferElements = 65536
		l.MinStorageBufferOffsetAlignment = 256
		l.MinTexelBufferOffsetAlignment = 256
		l.MaxComputeWorkGroupInvocations = 256
		l.MaxComputeWorkGroupSize = [3]uint32{256, 256, 64}
		f.SubgroupSize = 4
	case "desktop-gpu": // size control 32..64, default 32
		info.Type = gpu.TypeDiscrete
		l.MaxStorageBufferRange = 1<<32 - 1
		l.MinStorageBufferOffsetAlignment = 16
		l.MaxComputeSharedMemorySize = 49152
		f.SubgroupSize, f.MinSubgroupSize, f.MaxSubgroupSize, f.SubgroupSizeControl = 32, 32, 64, true
	case "varying-gpu": // Intel-like: 8..32, no size control for compute
		info.Type = gpu.TypeIntegrated
		f.SubgroupSize, f.MinSubgroupSize, f.MaxSubgroupSize = 32, 8, 32
	case "mobile-gpu": // Vulkan's minimums: 128 invocations, 16 KiB shared, 65,536 texels
		info.Type = gpu.TypeIntegrated
		l.MaxTexelBufferElements = 65536
		l.MaxComputeSharedMemorySize = 16384
		l.MaxComputeWorkGroupInvocations = 128
		l.MaxComputeWorkGroupSize = [3]uint32{128, 128, 64}
		l.MinStorageBufferOffsetAlignment = 256
		l.MinTexelBufferOffsetAlignment = 256
		f.SubgroupSize = 16
		f.SubgroupOperations = []string{"basic", "vote", "ballot"} // no shuffles
	}
	return info
}

func TestChooseFromLimits(t *testing.T) {
	for _, c := range []struct {
		dev       string
		o         Overrides
		gemm      GemmVariant
		form      Form
		sg        int
		require   bool
		lanes     int
		tile      TileConfig
		attnWG    int
		elemTexel bool
	}{
		{dev: "lavapipe-256", gemm: GemmTexel, form: FormTexel, sg: 8, lanes: 8, tile: TileLarge, attnWG: 8, elemTexel: true},
		{dev: "lavapipe-128", gemm: GemmTexel, form: FormTexel, sg: 4, lanes: 8, tile: TileLarge, attnWG: 8, elemTexel: true},
		{dev: "lavapipe-512", gemm: GemmTexel, form: FormTexel, sg: 16, lanes: 16, tile: TileLarge, attnWG: 16, elemTexel: true},
		{dev: "lavapipe-256", o: Overrides{Subgroup: "0"}, gemm: GemmTexel, form: FormTexel, lanes: 8, tile: TileLarge, attnWG: 8, elemTexel: true},
		{dev: "lavapipe-256", o: Overrides{Form: "storage"}, gemm: GemmTexel, form: FormStorage, sg: 8, lanes: 8, tile: TileLarge, attnWG: 8},
		{dev: "swiftshader", gemm: GemmTexel, form: FormTexel, sg: 4, lanes: 8, tile: TileLarge, attnWG: 8},
		{dev: "swiftshader", o: Overrides{Form: "storage"}, gemm: GemmTexel, form: FormStorage, sg: 4, lanes: 8, tile: TileLarge, attnWG: 8},
		{dev: "swiftshader", o: Overrides{Form: "texel"}, gemm: GemmTexel, form: FormTexel, sg: 4, lanes: 8, tile: TileLarge, attnWG: 8, elemTexel: true},
		{dev: "desktop-gpu", gemm: GemmTiled, form: FormTexel, sg: 32, lanes: 32, tile: TileLarge, attnWG: 32, elemTexel: true},
		{dev: "varying-gpu", gemm: GemmTiled, form: FormTexel, lanes: 8, tile: TileLarge, attnWG: 64, elemTexel: true},
		{dev: "mobile-gpu", gemm: GemmTiled, form: FormStorage, lanes: 8, tile: TileSmall, attnWG: 64},
		{dev: "mobile-gpu", o: Overrides{Gemm: "texel"}, gemm: GemmTexel, form: FormStorage, lanes: 8, tile: TileSmall, attnWG: 8},
	} {
		name := c.dev + "/" + strings.Trim(strings.ReplaceAll(strings.Join([]string{c.o.Gemm, c.o.Form, c.o.Subgroup}, ","), ",,", ","), ",")
		t.Run(name, func(t *testing.T) {
			info := synthDevice(c.dev)
			got, err := Choose(info, c.o)
			if err != nil {
				t.Fatal(err)
			}
			if got.Gemm != c.gemm || got.RegForm != c.form || got.Subgroup != c.sg || got.RequireSubgroup != c.require ||
				got.RegLanes != c.lanes || got.Tile != c.tile || got.AttnWG != c.attnWG || got.ElementwiseTexel != c.elemTexel {
				t.Errorf("got gemm %v form %v sg %d (pinned %v) lanes %d tile %v attn %d elem-texel %v\nwant gemm %v form %v sg %d (pinned %v) lanes %d tile %v attn %d elem-texel %v",
					got.Gemm, got.RegForm, got.Subgroup, got.RequireSubgroup, got.RegLanes, got.Tile, got.AttnWG, got.ElementwiseTexel,
					c.gemm, c.form, c.sg, c.require, c.lanes, c.tile, c.attnWG, c.elemTexel)
			}
			// Whatever was chosen fits the device.
			l := info.Limits
			if got.RegLanes > int(l.MaxComputeWorkGroupInvocations) || got.AttnWG > int(l.MaxComputeWorkGroupInvocations) ||
				got.Tile.Threads() > int(l.MaxComputeWorkGroupInvocations) || got.Tile.SharedBytes() > int(l.MaxComputeSharedMemorySize) {
				t.Errorf("choice exceeds the device's workgroup limits: %+v", got)
			}
			if got.Subgroup > 0 && (got.RegLanes%got.Subgroup != 0 || got.AttnWG%got.Subgroup != 0) {
				t.Errorf("workgroups of %d/%d lanes are not whole %d-lane subgroups", got.RegLanes, got.AttnWG, got.Subgroup)
			}
			if len(got.Describe()) == 0 {
				t.Error("empty description")
			}
		})
	}
}

func TestChooseOverrideErrors(t *testing.T) {
	for _, o := range []Overrides{{Gemm: "fast"}, {Form: "ssbo"}, {Subgroup: "x"}, {Subgroup: "32"}} {
		if _, err := Choose(synthDevice("lavapipe-256"), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	// A device without shuffles refuses a forced subgroup size.
	if _, err := Choose(synthDevice("mobile-gpu"), Overrides{Subgroup: "16"}); err == nil {
		t.Error("mobile-gpu with VILT_SUBGROUP=16: no error")
	}
}

// TestRegChunk: chunk sizes keep every view within the limit, in whole workgroup units where
// they can.
func TestRegChunk(t *testing.T) {
	for _, c := range []struct{ n, per, slack, limit, unit, want int }{
		{202, 192, 15, 65536, 8, 202},     // everything fits
		{202, 768, 15, 65536, 8, 80},      // 85 rows fit: 80, a multiple of 8
		{96, 768 * 8, 15, 65536, 12, 10},  // 10 groups fit, fewer than a workgroup's 12
		{5, 70000, 15, 65536, 1, 0},       // not one item fits
		{3, 4, 0, 134217728, 8, 3},        // tiny
		{1 << 20, 1, 15, 65536, 8, 65520}, // 65521 fit: 65520
		{9, 7281, 255, 65536, 1, 8},       // alignment slack counts
	} {
		got := regChunk(c.n, c.per, c.slack, c.limit, c.unit)
		if got != c.want {
			t.Errorf("regChunk(%d, %d, %d, %d, %d) = %d, want %d", c.n, c.per, c.slack, c.limit, c.unit, got, c.want)
		}
		if got > 0 && got*c.per+c.slack > c.limit {
			t.Errorf("regChunk(%+v) = %d: view of %d texels exceeds the limit", c, got, got*c.per+c.slack)
		}
	}
}

// TestChoosePrecision: fp16 needs a way for the chosen GEMM to read half weights (RGBA16F
// texel views for the texel form, 16-bit storage otherwise); auto picks it only on CPU-type
// devices where it measured faster (none so far: halfAuto); fp16 where no path exists is an
// error.
func TestChoosePrecision(t *testing.T) {
	for _, c := range []struct {
		kind                  string
		texel16, storage16    bool
		auto, fp16            Precision // fp16: 0 means an error
		wantDescribeSubstring string
	}{
		{"lavapipe-256", true, true, PrecisionFP32, PrecisionFP16, "fp16 available"},
		{"lavapipe-256", false, true, PrecisionFP32, 0, "not available"},             // texel form, no RGBA16F
		{"swiftshader", true, false, PrecisionFP32, PrecisionFP16, "fp16 available"}, // texel GEMM reads RGBA16F views
		{"swiftshader", false, false, PrecisionFP32, 0, "not available"},             // neither path
		{"swiftshader", true, true, PrecisionFP32, PrecisionFP16, "fp16 available"},
		{"desktop-gpu", true, true, PrecisionFP32, PrecisionFP16, "fp16 available"},
		{"desktop-gpu", true, false, PrecisionFP32, 0, "not available"},
	} {
		info := synthDevice(c.kind)
		info.Features.UniformTexelRGBA16F, info.Features.StorageBuffer16BitAccess = c.texel16, c.storage16
		name := c.kind + map[bool]string{true: "+t16", false: ""}[c.texel16] + map[bool]string{true: "+s16", false: ""}[c.storage16]
		auto, err := Choose(info, Overrides{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if auto.Precision != c.auto {
			t.Errorf("%s: auto is %s, want %s", name, auto.Precision, c.auto)
		}
		var desc string
		for _, d := range auto.Describe() {
			if d[0] == "weights" {
				desc = d[1]
			}
		}
		if !strings.Contains(desc, c.wantDescribeSubstring) {
			t.Errorf("%s: weights line %q, want it to mention %q", name, desc, c.wantDescribeSubstring)
		}
		if c.fp16 != 0 {
			c16, _ := Choose(info, Overrides{Precision: PrecisionFP16})
			how := "RGBA16F texel views"
			if c16.RegForm == FormStorage || c16.Gemm == GemmTiled {
				how = "16-bit storage"
			}
			if d := c16.describePrecision(); !strings.Contains(d, how) {
				t.Errorf("%s: fp16 described as %q, want %q", name, d, how)
			}
		}
		if c32, err := Choose(info, Overrides{Precision: PrecisionFP32}); err != nil || c32.Precision != PrecisionFP32 {
			t.Errorf("%s: fp32 gives %v, %v", name, c32.Precision, err)
		}
		c16, err := Choose(info, Overrides{Precision: PrecisionFP16})
		switch {
		case c.fp16 == 0 && err == nil:
			t.Errorf("%s: fp16 accepted, want an error", name)
		case c.fp16 == 0 && !strings.Contains(err.Error(), "fp16"):
			t.Errorf("%s: error %q does not say fp16", name, err)
		case c.fp16 != 0 && (err != nil || c16.Precision != c.fp16):
			t.Errorf("%s: fp16 gives %v, %v", name, c16.Precision, err)
		}
	}
	for _, s := range []string{"", "auto", "fp32", "FP16", "half"} {
		if _, err := ParsePrecision(s); err != nil {
			t.Errorf("ParsePrecision(%q): %v", s, err)
		}
	}
	if _, err := ParsePrecision("bf16"); err == nil {
		t.Error("ParsePrecision(bf16) accepted")
	}
}

// TestGemmShuffleNeedsEightLanes: the GEMM's shuffle form (and its wider tile) only with 8 or
// more lanes; 4-lane devices keep the plain register tile while attention keeps its shuffles.
func TestGemmShuffleNeedsEightLanes(t *testing.T) {
	for _, c := range []struct {
		dev    string
		gemmSG int
		tn     int
	}{
		{"lavapipe-128", 0, texelTN}, {"swiftshader", 0, texelTN},
		{"lavapipe-256", 8, tallTN}, {"lavapipe-512", 16, tallTN / 2},
	} {
		got, err := Choose(synthDevice(c.dev), Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		if got.gemmSubgroup() != c.gemmSG || got.RegTN != c.tn || got.Subgroup == 0 {
			t.Errorf("%s: GEMM subgroup %d, TN %d (device subgroup %d); want %d, %d", c.dev, got.gemmSubgroup(), got.RegTN, got.Subgroup, c.gemmSG, c.tn)
		}
	}
}

// TestRegTileByForm: the shuffle form on texel operands gets the tall tile, storage operands
// and wide subgroups keep theirs, and 4-lane devices the plain tile.
func TestRegTileByForm(t *testing.T) {
	for _, c := range []struct {
		dev    string
		o      Overrides
		tm, tn int
	}{
		{"lavapipe-256", Overrides{}, tallTM, tallTN},
		{"lavapipe-128", Overrides{}, texelTM, texelTN}, // 4 lanes: no GEMM shuffles
		{"lavapipe-256", Overrides{Form: "storage"}, 8, texelSGTN},
		{"swiftshader", Overrides{}, texelTM, texelTN},
		{"lavapipe-512", Overrides{}, tallTM, tallTN / 2},
		{"lavapipe-512", Overrides{Form: "storage"}, 8, texelSGTN / 2},
		{"lavapipe-256", Overrides{Subgroup: "0"}, texelTM, texelTN},
		{"lavapipe-256", Overrides{Tile: "24x4"}, 24, 4},
		{"lavapipe-128", Overrides{Tile: "5x7"}, 5, 7},
		{"swiftshader", Overrides{Tile: "1x1"}, 1, 1},
	} {
		got, err := Choose(synthDevice(c.dev), c.o)
		if err != nil {
			t.Fatal(err)
		}
		if got.RegTM != c.tm || got.RegTN != c.tn {
			t.Errorf("%s %+v: tile %d×%d, want %d×%d", c.dev, c.o, got.RegTM, got.RegTN, c.tm, c.tn)
		}
	}
}

// TestTileOverride: VILT_GEMM_TILE keeps the workgroup, survives switching the shuffle forms,
// and refuses what is not a tile.
func TestTileOverride(t *testing.T) {
	c, err := Choose(synthDevice("lavapipe-512"), Overrides{Tile: "12x2"})
	if err != nil {
		t.Fatal(err)
	}
	if c.RegTM != 12 || c.RegTN != 2 || c.RegLanes != 16 {
		t.Errorf("tile %d×%d, %d lanes; want 12×2, 16 lanes", c.RegTM, c.RegTN, c.RegLanes)
	}
	c.Subgroup = 0
	c.setRegTile()
	if c.RegTM != 12 || c.RegTN != 2 || c.RegLanes != 8 {
		t.Errorf("shuffles off: tile %d×%d, %d lanes; want 12×2, 8 lanes", c.RegTM, c.RegTN, c.RegLanes)
	}
	for _, bad := range []string{"16", "x6", "0x6", "6x0", "-1x4", "16x6x8", "a x b", "17x16"} {
		if _, err := Choose(synthDevice("lavapipe-256"), Overrides{Tile: bad}); err == nil || !strings.Contains(err.Error(), "VILT_GEMM_TILE") {
			t.Errorf("tile %q: err %v, want a VILT_GEMM_TILE error", bad, err)
		}
	}
}

// TestTiledOverride: VILT_GEMM_TILED sets the shared-memory tile, and refuses what is not a
// tile or what the device cannot run.
func TestTiledOverride(t *testing.T) {
	c, err := Choose(synthDevice("desktop-gpu"), Overrides{Tiled: "128x64x32x8x8"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (TileConfig{BM: 128, BN: 64, BK: 32, TM: 8, TN: 8}); c.Tile != want {
		t.Errorf("tile %v, want %v", c.Tile, want)
	}
	for _, bad := range []string{"128x128x16x8", "128x128x16x8x8x1", "100x128x16x8x8", "128x100x16x8x8", "128x128x6x8x8", "0x128x16x8x8", "128x128x16x32x16", "axbxcxdxe"} {
		if _, err := Choose(synthDevice("desktop-gpu"), Overrides{Tiled: bad}); err == nil || !strings.Contains(err.Error(), "VILT_GEMM_TILED") {
			t.Errorf("tile %q: err %v, want a VILT_GEMM_TILED error", bad, err)
		}
	}
	// 256×128 with 8×8 per invocation is 512 invocations: more than Vulkan's minimum device allows.
	if _, err := Choose(synthDevice("mobile-gpu"), Overrides{Tiled: "256x128x16x8x8"}); err == nil || !strings.Contains(err.Error(), "allows") {
		t.Errorf("oversized tile on a minimal device: err %v, want a limits error", err)
	}
	for _, tile := range TileCandidates {
		if s := tile.String(); s == "" {
			t.Fatal("empty tile name")
		} else if back, err := ParseTileConfig(s); err != nil || back != tile {
			t.Errorf("%v: parsed back as %v, %v", tile, back, err)
		}
	}
}
