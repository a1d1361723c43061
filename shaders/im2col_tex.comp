#version 450
// im2col_tex: im2col.comp for P % 4 == 0 and W % 4 == 0: pixels read as RGBA32F texels (4
// horizontally adjacent pixels of one patch row) and Y written as vec4, one texel per
// invocation. n4, xo4 and yo4 count texels.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint n4; uint c; uint h; uint w; uint psz; uint hp; uint wp; uint xo4; uint yo4;
} p;
layout(binding = 0) uniform samplerBuffer X;
layout(std430, binding = 1) writeonly buffer Y { vec4 y[]; };
void main() {
	uint e = flat_index();
	if (e >= p.n4) return;
	uint p4 = p.psz >> 2u;            // texels per patch row
	uint pp4 = p.psz * p4;            // texels per patch channel
	uint k4 = p.c * pp4;              // texels per output row
	uint row = e / k4;
	uint k = e - row * k4;
	uint ch = k / pp4;
	uint rem = k - ch * pp4;
	uint dy = rem / p4;
	uint dx4 = rem - dy * p4;
	uint pc = row % p.wp;
	uint t = row / p.wp;
	uint pr = t % p.hp;
	uint b = t / p.hp;
	uint yy = pr * p.psz + dy;
	uint w4 = p.w >> 2u;
	y[p.yo4 + e] = texelFetch(X, int(p.xo4 + ((b * p.c + ch) * p.h + yy) * w4 + pc * p4 + dx4));
}
