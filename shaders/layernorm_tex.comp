#version 450
#extension GL_EXT_samplerless_texture_functions : require
// layernorm_tex: layernorm.comp with X, W and B read through RGBA32F uniform texel buffers
// (vectorised fetches: much faster than storage-buffer loads on CPU drivers such as
// lavapipe) and Y written as vec4. Needs n % 4 == 0 and every element offset (xo, yo, wo, bo,
// in floats) % 4 == 0; the host falls back to layernorm.comp otherwise. Same math as
// layernorm.comp: two passes shifted by the row's first element, corrected variance. One
// invocation per row; every loop step covers 4 texels (16 floats) so a row of n floats costs
// ~3n/16 loop iterations (lavapipe ends an invocation after 65535 iterations in total).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint rows; uint n; uint xo; uint yo; uint wo; uint bo; float eps; float inv_n;
} p;
layout(binding = 0) uniform textureBuffer X;
layout(binding = 1) uniform textureBuffer W;
layout(binding = 2) uniform textureBuffer B;
layout(std430, binding = 3) buffer Y { vec4 y[]; };

void main() {
	uint r = flat_index();
	if (r >= p.rows) return;
	uint nq = p.n >> 2u;
	int xb = int((p.xo >> 2u) + r * nq);
	uint yb = (p.yo >> 2u) + r * nq;
	int wb = int(p.wo >> 2u), bb = int(p.bo >> 2u);
	float x0 = texelFetch(X, xb).x;
	vec4 s0 = vec4(0.0), s1 = vec4(0.0);
	int q = 0, nqi = int(nq);
	for (; q + 2 <= nqi; q += 2) {
		s0 += texelFetch(X, xb + q) - x0;
		s1 += texelFetch(X, xb + q + 1) - x0;
	}
	if (q < nqi) s0 += texelFetch(X, xb + q) - x0;
	vec4 s = s0 + s1;
	float mean = ((s.x + s.y) + (s.z + s.w)) * p.inv_n; // relative to x0
	vec4 d0 = vec4(0.0), d1 = vec4(0.0), q0 = vec4(0.0), q1 = vec4(0.0);
	for (q = 0; q + 2 <= nqi; q += 2) {
		vec4 a0 = (texelFetch(X, xb + q) - x0) - mean;
		vec4 a1 = (texelFetch(X, xb + q + 1) - x0) - mean;
		d0 += a0; d1 += a1;
		q0 += a0 * a0; q1 += a1 * a1;
	}
	if (q < nqi) {
		vec4 a0 = (texelFetch(X, xb + q) - x0) - mean;
		d0 += a0;
		q0 += a0 * a0;
	}
	vec4 dv = d0 + d1, qv = q0 + q1;
	float sd = (dv.x + dv.y) + (dv.z + dv.w);
	float var = max(((qv.x + qv.y) + (qv.z + qv.w) - sd * sd * p.inv_n) * p.inv_n, 0.0);
	float rstd = 1.0 / sqrt(var + p.eps);
	for (q = 0; q < nqi; q++) {
		vec4 a = (texelFetch(X, xb + q) - x0) - mean;
		y[yb + uint(q)] = a * rstd * texelFetch(W, wb + q) + texelFetch(B, bb + q);
	}
}
