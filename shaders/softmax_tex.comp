#version 450
#extension GL_EXT_samplerless_texture_functions : require
// softmax_tex: softmax.comp with X read through an RGBA32F texel buffer (vectorised fetches,
// much faster than storage-buffer loads on lavapipe) for rows of any width n and any start:
// each row is split into a head (up to the first 16-byte boundary), whole texels, and a tail;
// head and tail elements are fetched one component at a time. Y is written as scalars.
// xo counts floats into the texel view (the host binds the view from a 16-byte boundary).
// One invocation per row, three passes (max, sum, write): ~3n/4 loop iterations per row
// (lavapipe ends an invocation after 65535 in total; the host caps n at 65536).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint rows; uint n; uint xo; uint yo; } p;
layout(binding = 0) uniform textureBuffer X;
layout(std430, binding = 1) buffer Y { float y[]; };

float xat(uint i) { return texelFetch(X, int(i >> 2u))[i & 3u]; }

void main() {
	uint r = flat_index();
	if (r >= p.rows) return;
	uint s = p.xo + r * p.n;
	uint e = s + p.n;
	uint yb = p.yo + r * p.n;
	uint qa = (s + 3u) >> 2u;         // first whole texel
	uint qb = max(e >> 2u, qa);       // end of whole texels
	uint hend = min(qa << 2u, e);     // head: [s, hend)
	uint tbeg = max(qb << 2u, hend);  // tail: [tbeg, e)

	float m = xat(s);
	for (uint i = s + 1u; i < hend; i++) m = max(m, xat(i));
	vec4 m4 = vec4(m);
	for (uint q = qa; q < qb; q++) m4 = max(m4, texelFetch(X, int(q)));
	m = max(max(m4.x, m4.y), max(m4.z, m4.w));
	for (uint i = tbeg; i < e; i++) m = max(m, xat(i));

	float sum = 0.0;
	for (uint i = s; i < hend; i++) sum += exp(xat(i) - m);
	vec4 s4 = vec4(0.0);
	for (uint q = qa; q < qb; q++) s4 += exp(texelFetch(X, int(q)) - m);
	sum += (s4.x + s4.y) + (s4.z + s4.w);
	for (uint i = tbeg; i < e; i++) sum += exp(xat(i) - m);
	float inv = 1.0 / sum;

	for (uint i = s; i < hend; i++) y[yb + (i - s)] = exp(xat(i) - m) * inv;
	for (uint q = qa; q < qb; q++) {
		vec4 v = exp(texelFetch(X, int(q)) - m) * inv;
		uint o = yb + ((q << 2u) - s);
		y[o] = v.x;
		y[o + 1u] = v.y;
		y[o + 2u] = v.z;
		y[o + 3u] = v.w;
	}
	for (uint i = tbeg; i < e; i++) y[yb + (i - s)] = exp(xat(i) - m) * inv;
}
