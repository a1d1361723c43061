#version 450
// patch_mask_sizes: per sample b of a patch mask M [B, Hp, Wp] (float32), S[b] = (x_h, x_w):
// x_h = Σ_r int(M[b,r,0]) (valid patches in column 0), x_w = Σ_c int(M[b,0,c]) (row 0), as
// HF ViLT computes them. One invocation per sample.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint batch; uint hp; uint wp; uint mo; uint so; } p;
layout(std430, binding = 0) readonly buffer M { float m[]; };
layout(std430, binding = 1) writeonly buffer S { int s[]; };
void main() {
	uint b = flat_index();
	if (b >= p.batch) return;
	uint base = p.mo + b * p.hp * p.wp;
	int xh = 0, xw = 0;
	for (uint r = 0u; r < p.hp; r++) xh += int(m[base + r * p.wp]);
	for (uint c = 0u; c < p.wp; c++) xw += int(m[base + c]);
	s[p.so + 2u * b] = xh;
	s[p.so + 2u * b + 1u] = xw;
}
