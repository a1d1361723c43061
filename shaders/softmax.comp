#version 450
// softmax: Y[r,:] = exp(X[r,:] - max) / Σ exp(X[r,:] - max) over rows of width n. One
// invocation per row, three plain passes (max, sum, write), no shared memory. Element offsets
// (xo, yo) let tensors be views. In place (Y = X) is allowed.
// Every loop is unrolled by 4: Mesa 22.x llvmpipe (lavapipe) silently stops any invocation
// after 65535 loop iterations in total (LP_MAX_TGSI_LOOP_ITERATIONS, a counter shared by all
// loops of the shader), so a row costs ~3n/4 iterations and the host caps n at 65536.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint rows; uint n; uint xo; uint yo; } p;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };
void main() {
	uint r = flat_index();
	if (r >= p.rows) return;
	uint n = p.n;
	uint xb = p.xo + r * n;
	uint yb = p.yo + r * n;
	float m0 = x[xb], m1 = m0, m2 = m0, m3 = m0;
	uint i = 0u;
	for (; i + 4u <= n; i += 4u) {
		m0 = max(m0, x[xb + i]);
		m1 = max(m1, x[xb + i + 1u]);
		m2 = max(m2, x[xb + i + 2u]);
		m3 = max(m3, x[xb + i + 3u]);
	}
	for (; i < n; i++) m0 = max(m0, x[xb + i]);
	float m = max(max(m0, m1), max(m2, m3));
	float s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
	for (i = 0u; i + 4u <= n; i += 4u) {
		s0 += exp(x[xb + i] - m);
		s1 += exp(x[xb + i + 1u] - m);
		s2 += exp(x[xb + i + 2u] - m);
		s3 += exp(x[xb + i + 3u] - m);
	}
	for (; i < n; i++) s0 += exp(x[xb + i] - m);
	float inv = 1.0 / ((s0 + s1) + (s2 + s3));
	for (i = 0u; i + 4u <= n; i += 4u) {
		y[yb + i] = exp(x[xb + i] - m) * inv;
		y[yb + i + 1u] = exp(x[xb + i + 1u] - m) * inv;
		y[yb + i + 2u] = exp(x[xb + i + 2u] - m) * inv;
		y[yb + i + 3u] = exp(x[xb + i + 3u] - m) * inv;
	}
	for (; i < n; i++) y[yb + i] = exp(x[xb + i] - m) * inv;
}
