package gpu

import (
	"encoding/binary"
	"fmt"
)

// SPIR-V opcodes and decorations that specialize rewrites.
const (
	spvOpDecorate           = 71
	spvOpConstantTrue       = 41
	spvOpConstantFalse      = 42
	spvOpConstant           = 43
	spvOpSpecConstantTrue   = 48
	spvOpSpecConstantFalse  = 49
	spvOpSpecConstant       = 50
	spvDecorationSpecID     = 1
	spvHeaderWords          = 5
	spvMagic                = 0x07230203
	spvMaxSpecConstantWords = 4 // OpSpecConstant with one 32-bit literal
)

// specialize freezes a module's scalar specialization constants into ordinary constants:
// the values in spec, every other one at its default. The pipeline is then created without
// specialization info.
//
// Why: our register-tiled kernels size their unrolled loops and accumulator arrays with
// specialization constants. Mesa folds them before it optimizes, but a driver that runs
// spirv-opt without freezing them first (SwiftShader) cannot unroll those loops, so the
// accumulators stay arrays in memory indexed per lane: 20-30× slower code. Constants in the
// module make every driver see the same straight-line kernel. Composite and OpSpecConstantOp
// expressions stay as they are: their operands are now constants, which is valid SPIR-V.
// Values for ids the module does not declare are ignored, as Vulkan ignores them.
func specialize(code []byte, spec []SpecConstant) ([]byte, error) {
	if len(code)%4 != 0 || len(code) < 4*spvHeaderWords || binary.LittleEndian.Uint32(code) != spvMagic {
		return nil, fmt.Errorf("specialize: not little-endian SPIR-V (%d bytes)", len(code))
	}
	words := make([]uint32, len(code)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(code[4*i:])
	}
	// Pass 1: which result id carries which SpecId.
	specID := map[uint32]uint32{} // result id → SpecId
	for i := spvHeaderWords; i < len(words); {
		n, op := int(words[i]>>16), words[i]&0xffff
		if n == 0 || i+n > len(words) {
			return nil, fmt.Errorf("specialize: malformed instruction at word %d", i)
		}
		if op == spvOpDecorate && n == 4 && words[i+2] == spvDecorationSpecID {
			specID[words[i+1]] = words[i+3]
		}
		i += n
	}
	values := map[uint32]uint32{}
	for _, s := range spec {
		values[s.ID] = s.Value
	}
	// Pass 2: rewrite, dropping the SpecId decorations.
	out := make([]uint32, 0, len(words))
	out = append(out, words[:spvHeaderWords]...)
	for i := spvHeaderWords; i < len(words); {
		n, op := int(words[i]>>16), words[i]&0xffff
		ins := append([]uint32(nil), words[i:i+n]...)
		i += n
		switch op {
		case spvOpDecorate:
			if n == 4 && ins[2] == spvDecorationSpecID {
				continue
			}
		case spvOpSpecConstantTrue, spvOpSpecConstantFalse:
			if n != 3 {
				return nil, fmt.Errorf("specialize: malformed OpSpecConstantTrue/False")
			}
			on := op == spvOpSpecConstantTrue
			if id, ok := specID[ins[2]]; ok {
				if v, ok := values[id]; ok {
					on = v != 0
				}
			}
			ins[0] = uint32(n)<<16 | spvOpConstantFalse
			if on {
				ins[0] = uint32(n)<<16 | spvOpConstantTrue
			}
		case spvOpSpecConstant:
			if n < 4 {
				return nil, fmt.Errorf("specialize: malformed OpSpecConstant")
			}
			if id, ok := specID[ins[2]]; ok {
				if v, ok := values[id]; ok {
					if n != spvMaxSpecConstantWords {
						return nil, fmt.Errorf("specialize: constant %d is not 32-bit", id)
					}
					ins[3] = v
				}
			}
			ins[0] = uint32(n)<<16 | spvOpConstant
		}
		out = append(out, ins...)
	}
	b := make([]byte, 4*len(out))
	for i, w := range out {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b, nil
}
