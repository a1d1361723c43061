package gpu

import (
	"encoding/binary"
	"testing"

	"github.com/vilt-vk/vilt-vk/shaders"
)

func spvWords(b []byte) []uint32 {
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}

// specConstants maps SpecId → (result id, opcode, value word) of a module's scalar
// specialization constants, and counts the instructions of each opcode.
func specConstants(w []uint32) (map[uint32][3]uint32, map[uint32]int) {
	ids := map[uint32]uint32{} // result id → SpecId
	ops := map[uint32]int{}
	for i := spvHeaderWords; i < len(w); i += int(w[i] >> 16) {
		op := w[i] & 0xffff
		ops[op]++
		if op == spvOpDecorate && w[i]>>16 == 4 && w[i+2] == spvDecorationSpecID {
			ids[w[i+1]] = w[i+3]
		}
	}
	out := map[uint32][3]uint32{}
	for i := spvHeaderWords; i < len(w); i += int(w[i] >> 16) {
		n, op := w[i]>>16, w[i]&0xffff
		if n >= 3 {
			if id, ok := ids[w[i+2]]; ok {
				var v uint32
				if n >= 4 {
					v = w[i+3]
				}
				out[id] = [3]uint32{w[i+2], op, v}
			}
		}
	}
	return out, ops
}

func TestSpecializeFreezes(t *testing.T) {
	for _, name := range shaders.Names() {
		code := shaders.MustGet(name)
		before, _ := specConstants(spvWords(code))
		var spec []SpecConstant
		for id, c := range before {
			if c[1] == spvOpSpecConstant {
				spec = append(spec, SpecUint(id, 1000+id))
			}
		}
		spec = append(spec, SpecUint(63, 7)) // not in the module: ignored, as Vulkan does
		out, err := specialize(code, spec)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		w := spvWords(out)
		after, ops := specConstants(w)
		if len(after) != 0 || ops[spvOpSpecConstant]+ops[spvOpSpecConstantTrue]+ops[spvOpSpecConstantFalse] != 0 {
			t.Errorf("%s: specialization constants left: %v", name, after)
		}
		// Every frozen constant holds the value given for its SpecId, under its old result id.
		for id, c := range before {
			if c[1] != spvOpSpecConstant {
				continue
			}
			found := false
			for i := spvHeaderWords; i < len(w); i += int(w[i] >> 16) {
				if w[i] == 4<<16|spvOpConstant && w[i+2] == c[0] {
					found = true
					if w[i+3] != 1000+id {
						t.Errorf("%s: constant %d = %d, want %d", name, id, w[i+3], 1000+id)
					}
				}
			}
			if !found {
				t.Errorf("%s: constant %d (result %%%d) missing", name, id, c[0])
			}
		}
		if len(w) != len(code)/4-4*len(before) {
			t.Errorf("%s: %d words, want %d (only the SpecId decorations removed)", name, len(w), len(code)/4-4*len(before))
		}
	}
}

func TestSpecializeBool(t *testing.T) {
	// A module with one bool specialization constant (SpecId 2, default true).
	w := []uint32{spvMagic, 0x10000, 0, 10, 0,
		4<<16 | spvOpDecorate, 5, spvDecorationSpecID, 2,
		2<<16 | 20, 4, // OpTypeBool %4
		3<<16 | spvOpSpecConstantTrue, 4, 5,
	}
	b := make([]byte, 4*len(w))
	for i, x := range w {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	for _, c := range []struct {
		spec []SpecConstant
		want uint32
	}{{nil, spvOpConstantTrue}, {[]SpecConstant{SpecUint(2, 0)}, spvOpConstantFalse}, {[]SpecConstant{SpecUint(2, 1)}, spvOpConstantTrue}} {
		out, err := specialize(b, c.spec)
		if err != nil {
			t.Fatal(err)
		}
		o := spvWords(out)
		if len(o) != len(w)-4 || o[len(o)-3] != 3<<16|c.want {
			t.Errorf("spec %v: got %x", c.spec, o)
		}
	}
}

func TestSpecializeRejectsMalformed(t *testing.T) {
	good := shaders.MustGet("add")
	for name, b := range map[string][]byte{
		"empty":     nil,
		"odd":       good[:len(good)-1],
		"magic":     append([]byte{0, 0, 0, 0}, good[4:]...),
		"truncated": append(append([]byte(nil), good[:20]...), 43, 0, 5, 0), // OpConstant of 5 words, 1 present
		"zero-word": append(append([]byte(nil), good[:20]...), 0, 0, 0, 0),
	} {
		if _, err := specialize(b, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzSpecialize(f *testing.F) {
	f.Add(shaders.MustGet("add"), uint32(0), uint32(1))
	f.Fuzz(func(t *testing.T, b []byte, id, v uint32) {
		out, err := specialize(b, []SpecConstant{SpecUint(id, v)})
		if err == nil && len(out) > len(b) {
			t.Errorf("output grew: %d > %d bytes", len(out), len(b))
		}
	})
}
