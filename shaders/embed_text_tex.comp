#version 450
#extension GL_EXT_samplerless_texture_functions : require
// embed_text_tex: embed_text.comp for hidden % 4 == 0 with the three tables read as RGBA32F
// texels and Y written as vec4. One invocation per (token, chunk of CHUNK texels), so the ids
// are loaded and the index arithmetic done once per chunk. nitems counts those items;
// hidden4 and the table and output offsets count texels; io and to (the int32 id tensors,
// read as storage buffers) count elements.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint nitems; uint hidden4; uint seq; uint vocab; uint types;
	uint wo4; uint so4; uint po4; uint io; uint to; uint yo4;
} p;
layout(binding = 0) uniform textureBuffer Word;
layout(binding = 1) uniform textureBuffer Seg;
layout(binding = 2) uniform textureBuffer Pos;
layout(std430, binding = 3) readonly buffer Ids { int ids[]; };
layout(std430, binding = 4) readonly buffer TT { int tt[]; };
layout(std430, binding = 5) writeonly buffer Y { vec4 y[]; };
const uint CHUNK = 16u;
void main() {
	uint e = flat_index();
	if (e >= p.nitems) return;
	uint nch = (p.hidden4 + CHUNK - 1u) / CHUNK;
	uint r = e / nch;
	uint d0 = (e - r * nch) * CHUNK;
	uint d1 = min(d0 + CHUNK, p.hidden4);
	uint t = r % p.seq;
	uint id = uint(clamp(ids[p.io + r], 0, int(p.vocab) - 1));
	uint ty = uint(clamp(tt[p.to + r], 0, int(p.types) - 1));
	int wb = int(p.wo4 + id * p.hidden4), sb = int(p.so4 + ty * p.hidden4), pb = int(p.po4 + t * p.hidden4);
	uint yb = p.yo4 + r * p.hidden4;
	for (uint d = d0; d < d1; d++) {
		int o = int(d);
		y[yb + d] = (texelFetch(Word, wb + o) + texelFetch(Seg, sb + o)) + texelFetch(Pos, pb + o);
	}
}
