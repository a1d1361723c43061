package graph

import (
	"fmt"

	"github.com/vilt-vk/vilt-vk/gpu"
)

// The register-tiled GEMM (shaders/gemm_texel.glsl): X [M,K] and the packed weight
// [ceil(N/8)][K/4][8] texels are read through texel buffers or storage buffers (RegForm), with
// or without subgroup shuffles. Either way an operand is bound as a view of limited size
// (maxTexelBufferElements texels, or maxStorageBufferRange bytes), so large products are
// recorded as a grid of chunks: rows of X × groups of W, each chunk one dispatch whose views
// fit the limit.

// regChunks splits n items of `per` texels into chunks whose views (plus up to slack texels
// of alignment) fit limit texels, in multiples of unit items where possible. It returns 0
// when not even one item fits.
func regChunk(n, per, slack, limit, unit int) int {
	c := (limit - slack) / per
	if c <= 0 {
		return 0
	}
	if c >= n {
		return n
	}
	if c >= unit {
		c = c / unit * unit
	}
	return c
}

// regView binds the texels [first, first+count) of t (4-element texels: 16 bytes, or 8 for
// F16; first counted from t.Off) from the nearest offset at or below that meets align, and
// returns the binding and the texel offset of `first` within it.
func regView(t Tensor, first, count int, align uint64) (gpu.Binding, uint32) {
	tb := uint64(4 * t.DType.Size())
	start := t.Off + tb*uint64(first)
	off := start / align * align
	end := start + tb*uint64(count)
	return t.Buf.Range(off, end-off), uint32((start - off) / tb)
}

// linearReg records a Linear layer packed for the texel variant.
func (k *Kernels) linearReg(rec *gpu.Recorder, y, x Tensor, l *Linear, epi Epilogue, residual *Tensor) error {
	const op = "linear"
	c := k.choice
	m, k4 := x.Rows(), l.K/4
	groups := (l.N + 7) / 8
	if x.Off%16 != 0 {
		return fmt.Errorf("%s: x starts at byte %d, not on a 16-byte boundary", op, x.Off)
	}
	form := c.RegForm
	limit, align := c.texelLimit(), c.texelAlign()
	if form == FormStorage {
		limit, align = c.storageLimit(), c.storageAlign()
	}
	octets := c.RegLanes / 8
	half := l.W.DType == F16
	wtb := uint64(4 * l.W.DType.Size()) // W's texel bytes: its view offsets may sit up to align/wtb texels early
	rows := regChunk(m, k4, int(align/16), limit, c.RegTM)
	gchunk := regChunk(groups, k4*8, int(align/wtb), limit, c.RegTN*octets)
	if (rows == 0 || gchunk == 0) && form == FormTexel {
		// Not even one row or group fits a texel view: read from storage buffers.
		form, limit, align = FormStorage, c.storageLimit(), c.storageAlign()
		rows = regChunk(m, k4, int(align/16), limit, c.RegTM)
		gchunk = regChunk(groups, k4*8, int(align/wtb), limit, c.RegTN*octets)
	}
	if rows == 0 || gchunk == 0 {
		return fmt.Errorf("%s: K=%d is too large for one view of the device's buffers", op, l.K)
	}
	name := "gemm_texel"
	kind, wkind := tex, tex
	if form == FormStorage {
		name, kind, wkind = "gemm_reg", rd, rd
	}
	var reqSG uint32
	sg := c.gemmSubgroup()
	if sg > 0 {
		name += "_sg"
		if c.RequireSubgroup {
			reqSG = uint32(sg)
		}
	}
	if half {
		// Half W: the texel form reads it unchanged through RGBA16F views, the storage form
		// with the _h shaders (16-bit storage).
		switch {
		case form == FormTexel && c.halfTexel:
			wkind = gpu.TexelReadHalf
		case form == FormStorage && c.halfStorage:
			name += "_h"
		default:
			return fmt.Errorf("%s: the device cannot read half-precision weights with %s operands", op, form)
		}
	}
	kern, err := k.dev.Kernel(gpu.KernelSpec{Name: name, SPIRV: shaderCode(name), Bindings: []gpu.BindingKind{kind, wkind, rd, rd, wr},
		PushSize: 14 * 4, RequiredSubgroupSize: reqSG,
		Spec: []gpu.SpecConstant{gpu.SpecUint(0, uint32(c.RegTM)), gpu.SpecUint(1, uint32(c.RegTN)), gpu.SpecUint(2, uint32(epi)),
			gpu.SpecUint(3, uint32(c.RegLanes)), gpu.SpecUint(4, uint32(max(sg, 1)))}})
	if err != nil {
		return err
	}
	bd := k.binder(op)
	var b0, r0 uint32
	if l.Bias != nil {
		b0 = bd.add("bias", *l.Bias)
	} else {
		dummy, err := k.dummy()
		if err != nil {
			return err
		}
		bd.binds = append(bd.binds, dummy)
	}
	if epi&EpiResidual != 0 {
		r0 = bd.add("residual", *residual)
	} else {
		bd.binds = append(bd.binds, bd.binds[0])
	}
	y0 := bd.add("y", y)
	if bd.err != nil {
		return bd.err
	}
	perWG := c.RegTN * octets
	for g := 0; g < groups; g += gchunk {
		ng := min(gchunk, groups-g)
		wb, w0 := regView(l.W, g*k4*8, ng*k4*8, align)
		for r := 0; r < m; r += rows {
			nr := min(rows, m-r)
			xb, x0 := regView(x, r*k4, nr*k4, align)
			push := gpu.Push(uint32(nr), uint32(l.N), uint32(k4), uint32(k4), uint32(l.N), uint32(l.N), uint32(ng),
				uint32(r), uint32(g), x0, w0, y0, r0, b0)
			grid := [3]uint32{uint32((ng + perWG - 1) / perWG), uint32((nr + c.RegTM - 1) / c.RegTM), 1}
			if err := rec.Dispatch(kern, grid, push, xb, wb, bd.binds[0], bd.binds[1], bd.binds[2]); err != nil {
				return err
			}
		}
	}
	return nil
}
