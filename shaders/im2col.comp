#version 450
// im2col for a Conv2d with kernel = stride = P and no padding (ViLT's patch embedding):
// pixels X [B, C, H, W] → Y [B·Hp·Wp, C·P·P] with Hp = H/P, Wp = W/P (floored; pixels past
// Hp·P, Wp·P are ignored), each row a patch flattened in (channel, y, x) order, so that the
// conv is Y · weight[D, C·P·P]ᵀ + bias. One invocation per output element.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint n; uint c; uint h; uint w; uint psz; uint hp; uint wp; uint xo; uint yo;
} p;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
void main() {
	uint e = flat_index();
	if (e >= p.n) return;
	uint pp = p.psz * p.psz;
	uint kdim = p.c * pp;
	uint row = e / kdim;
	uint k = e - row * kdim;
	uint ch = k / pp;
	uint rem = k - ch * pp;
	uint dy = rem / p.psz;
	uint dx = rem - dy * p.psz;
	uint pc = row % p.wp;
	uint t = row / p.wp;
	uint pr = t % p.hp;
	uint b = t / p.hp;
	uint yy = pr * p.psz + dy;
	uint xx = pc * p.psz + dx;
	y[p.yo + e] = x[p.xo + ((b * p.c + ch) * p.h + yy) * p.w + xx];
}
