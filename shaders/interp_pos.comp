#version 450
// interp_pos: ViLT's image position embeddings. The [pd, pd, D] grid G is resized per sample b
// to (h_b, w_b) = sizes[b] with bilinear interpolation, align_corners=True
// (src = dst·(pd-1)/(out-1), 0 when out == 1; weights between floor(src) and floor(src)+1,
// clamped to pd-1), then zero-padded to (Hp, Wp): Y [B, Hp, Wp, D]. Sizes clamp to
// [0, Hp] × [0, Wp]. One invocation per output element.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint n; uint d; uint hp; uint wp; uint pd; uint go; uint so; uint yo;
} p;
layout(std430, binding = 0) readonly buffer G { float g[]; };
layout(std430, binding = 1) readonly buffer S { int sizes[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

// src_index returns the two source indices and the weight of the second for output index o
// of an axis resized from pd to out.
void src_index(uint o, uint out_n, out uint i0, out uint i1, out float l1) {
	float scale = out_n > 1u ? float(p.pd - 1u) / float(out_n - 1u) : 0.0;
	float s = scale * float(o);
	i0 = min(uint(s), p.pd - 1u);
	i1 = min(i0 + 1u, p.pd - 1u);
	l1 = max(s - float(i0), 0.0);
}

void main() {
	uint e = flat_index();
	if (e >= p.n) return;
	uint ch = e % p.d;
	uint cell = e / p.d;
	uint c = cell % p.wp;
	uint t = cell / p.wp;
	uint r = t % p.hp;
	uint b = t / p.hp;
	uint h = uint(clamp(sizes[p.so + 2u * b], 0, int(p.hp)));
	uint w = uint(clamp(sizes[p.so + 2u * b + 1u], 0, int(p.wp)));
	if (r >= h || c >= w) {
		y[p.yo + e] = 0.0;
		return;
	}
	uint y0, y1, x0, x1;
	float ly1, lx1;
	src_index(r, h, y0, y1, ly1);
	src_index(c, w, x0, x1, lx1);
	float ly0 = 1.0 - ly1, lx0 = 1.0 - lx1;
	uint rd = p.pd * p.d;
	float v00 = g[p.go + y0 * rd + x0 * p.d + ch];
	float v01 = g[p.go + y0 * rd + x1 * p.d + ch];
	float v10 = g[p.go + y1 * rd + x0 * p.d + ch];
	float v11 = g[p.go + y1 * rd + x1 * p.d + ch];
	y[p.yo + e] = ly0 * (lx0 * v00 + lx1 * v01) + ly1 * (lx0 * v10 + lx1 * v11);
}
