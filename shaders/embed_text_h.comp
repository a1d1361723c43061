#version 450
#extension GL_EXT_shader_16bit_storage : require
// embed_text_h: embed_text.comp with the word table stored as IEEE half (Precision fp16; needs
// storageBuffer16BitAccess), widened on load.
// embed_text: BERT text embeddings before the LayerNorm, for out row r = b·T + t:
//   Y[r, d] = (word[ids[r], d] + segment[tt[r], d]) + pos[t, d]
// (PyTorch's order of additions). ids clamp to [0, vocab-1] and tt to [0, types-1] so that no
// index reads out of bounds; the host must still reject invalid ids (T ≤ positions is checked
// on the host). One invocation per output element.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint n; uint hidden; uint seq; uint vocab; uint types;
	uint wo; uint so; uint po; uint io; uint to; uint yo;
} p;
layout(std430, binding = 0) readonly buffer Word { float16_t word[]; };
layout(std430, binding = 1) readonly buffer Seg { float seg[]; };
layout(std430, binding = 2) readonly buffer Pos { float pos[]; };
layout(std430, binding = 3) readonly buffer Ids { int ids[]; };
layout(std430, binding = 4) readonly buffer TT { int tt[]; };
layout(std430, binding = 5) writeonly buffer Y { float y[]; };
void main() {
	uint e = flat_index();
	if (e >= p.n) return;
	uint r = e / p.hidden;
	uint d = e - r * p.hidden;
	uint t = r % p.seq;
	uint id = uint(clamp(ids[p.io + r], 0, int(p.vocab) - 1));
	uint ty = uint(clamp(tt[p.to + r], 0, int(p.types) - 1));
	y[p.yo + e] = (float(word[p.wo + id * p.hidden + d]) + seg[p.so + ty * p.hidden + d]) + pos[p.po + t * p.hidden + d];
}
