#version 450
#extension GL_EXT_samplerless_texture_functions : require
// interp_pos_tex: interp_pos.comp for D % 4 == 0: the grid read as RGBA32F texels and Y
// written as vec4. One invocation per (sample, row, column, chunk of CHUNK texels), so the
// index and weight arithmetic (integer divisions are slow on CPU drivers) is paid once per
// 4·CHUNK channels. nitems counts those items; d4, go4 and yo4 count texels; so counts
// elements of the int32 sizes.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint nitems; uint d4; uint hp; uint wp; uint pd; uint go4; uint so; uint yo4;
} p;
const uint CHUNK = 16u;
layout(binding = 0) uniform textureBuffer G;
layout(std430, binding = 1) readonly buffer S { int sizes[]; };
layout(std430, binding = 2) writeonly buffer Y { vec4 y[]; };

void src_index(uint o, uint out_n, out uint i0, out uint i1, out float l1) {
	float scale = out_n > 1u ? float(p.pd - 1u) / float(out_n - 1u) : 0.0;
	float s = scale * float(o);
	i0 = min(uint(s), p.pd - 1u);
	i1 = min(i0 + 1u, p.pd - 1u);
	l1 = max(s - float(i0), 0.0);
}

void main() {
	uint e = flat_index();
	if (e >= p.nitems) return;
	uint nch = (p.d4 + CHUNK - 1u) / CHUNK;
	uint chunk = e % nch;
	uint cell = e / nch;
	uint c = cell % p.wp;
	uint t = cell / p.wp;
	uint r = t % p.hp;
	uint b = t / p.hp;
	uint ch0 = chunk * CHUNK;
	uint ch1 = min(ch0 + CHUNK, p.d4);
	uint out0 = p.yo4 + cell * p.d4;
	uint h = uint(clamp(sizes[p.so + 2u * b], 0, int(p.hp)));
	uint w = uint(clamp(sizes[p.so + 2u * b + 1u], 0, int(p.wp)));
	if (r >= h || c >= w) {
		for (uint ch = ch0; ch < ch1; ch++) y[out0 + ch] = vec4(0.0);
		return;
	}
	uint y0, y1, x0, x1;
	float ly1, lx1;
	src_index(r, h, y0, y1, ly1);
	src_index(c, w, x0, x1, lx1);
	float ly0 = 1.0 - ly1, lx0 = 1.0 - lx1;
	uint rd = p.pd * p.d4;
	int g00 = int(p.go4 + y0 * rd + x0 * p.d4), g01 = int(p.go4 + y0 * rd + x1 * p.d4);
	int g10 = int(p.go4 + y1 * rd + x0 * p.d4), g11 = int(p.go4 + y1 * rd + x1 * p.d4);
	for (uint ch = ch0; ch < ch1; ch++) {
		int o = int(ch);
		vec4 v00 = texelFetch(G, g00 + o), v01 = texelFetch(G, g01 + o);
		vec4 v10 = texelFetch(G, g10 + o), v11 = texelFetch(G, g11 + o);
		y[out0 + ch] = ly0 * (lx0 * v00 + lx1 * v01) + ly1 * (lx0 * v10 + lx1 * v11);
	}
}
