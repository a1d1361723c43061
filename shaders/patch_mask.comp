#version 450
// patch_mask: PyTorch's legacy nearest sampling of the pixel mask M [B, H, W] (int32) to the
// patch grid Y [B, Hp, Wp] (float32): Y[b,r,c] = float(M[b, sy(r), sx(c)]) with
// sy(r) = min(floor(r·sh), H-1), sh = float32(H)/float32(Hp) computed on the host in float32
// (and the same for x), products and floor in float32 as PyTorch does. One invocation per
// output element.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint n; uint h; uint w; uint hp; uint wp; float sh; float sw; uint mo; uint yo;
} p;
layout(std430, binding = 0) readonly buffer M { int m[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
void main() {
	uint e = flat_index();
	if (e >= p.n) return;
	uint c = e % p.wp;
	uint t = e / p.wp;
	uint r = t % p.hp;
	uint b = t / p.hp;
	uint sy = min(uint(floor(float(r) * p.sh)), p.h - 1u);
	uint sx = min(uint(floor(float(c) * p.sw)), p.w - 1u);
	y[p.yo + e] = float(m[p.mo + (b * p.h + sy) * p.w + sx]);
}
