#version 450
#extension GL_EXT_samplerless_texture_functions : require
// im2col_tex: im2col.comp for P % 4 == 0 and W % 4 == 0: pixels read as RGBA32F texels (4
// horizontally adjacent pixels of one patch row) and Y written as vec4. One invocation per
// (patch, channel, patch row): it copies the row's P/4 texels, so the index arithmetic
// (integer divisions, slow on CPU drivers) is paid once per P pixels. nrows counts
// (patch, channel, patch row) items; xo4 and yo4 count texels.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint nrows; uint c; uint h; uint w; uint psz; uint hp; uint wp; uint xo4; uint yo4;
} p;
layout(binding = 0) uniform textureBuffer X;
layout(std430, binding = 1) writeonly buffer Y { vec4 y[]; };
void main() {
	uint e = flat_index();
	if (e >= p.nrows) return;
	uint p4 = p.psz >> 2u;            // texels per patch row
	uint dy = e % p.psz;
	uint t = e / p.psz;
	uint ch = t % p.c;
	uint patch_i = t / p.c;           // b·Hp·Wp + r·Wp + c
	uint pc = patch_i % p.wp;
	uint t2 = patch_i / p.wp;
	uint pr = t2 % p.hp;
	uint b = t2 / p.hp;
	uint yy = pr * p.psz + dy;
	int src = int(p.xo4 + ((b * p.c + ch) * p.h + yy) * (p.w >> 2u) + pc * p4);
	uint dst = p.yo4 + e * p4;        // rows of C·P·P floats: item e starts at e·P floats
	for (uint i = 0u; i < p4; i++) y[dst + i] = texelFetch(X, src + int(i));
}
