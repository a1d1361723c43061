#version 450
// layernorm: Y[r,:] = (X[r,:] - mean) / sqrt(var + eps) * W + B over rows of width n, with the
// biased variance. One invocation per row, plain loops, no shared memory (memory-bound; fast on
// CPU drivers). Statistics in two passes, everything shifted by the row's first element x0 so
// that a large common offset costs no precision: m = Σ(x-x0)/n, then the corrected two-pass
// variance var = (Σd² - (Σd)²/n)/n with d = (x-x0) - m, and Y = d·rstd·W + B. Element offsets
// (xo, yo, wo, bo) let tensors be views that start anywhere in their binding. In place (Y = X)
// is allowed.
// Every loop is unrolled by 4: Mesa 22.x llvmpipe (lavapipe) silently stops any invocation
// after 65535 loop iterations in total (LP_MAX_TGSI_LOOP_ITERATIONS, a counter shared by all
// loops of the shader), so a row costs ~3n/4 iterations and the host caps n at 65536.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint rows; uint n; uint xo; uint yo; uint wo; uint bo; float eps; float inv_n;
} p;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(std430, binding = 3) buffer Y { float y[]; };
void main() {
	uint r = flat_index();
	if (r >= p.rows) return;
	uint n = p.n;
	uint xb = p.xo + r * n;
	uint yb = p.yo + r * n;
	float x0 = x[xb];
	float s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
	uint i = 0u;
	for (; i + 4u <= n; i += 4u) {
		s0 += x[xb + i] - x0;
		s1 += x[xb + i + 1u] - x0;
		s2 += x[xb + i + 2u] - x0;
		s3 += x[xb + i + 3u] - x0;
	}
	for (; i < n; i++) s0 += x[xb + i] - x0;
	float mean = ((s0 + s1) + (s2 + s3)) * p.inv_n; // relative to x0
	float d0 = 0.0, d1 = 0.0, d2 = 0.0, d3 = 0.0;
	float q0 = 0.0, q1 = 0.0, q2 = 0.0, q3 = 0.0;
	for (i = 0u; i + 4u <= n; i += 4u) {
		float a0 = x[xb + i] - x0 - mean, a1 = x[xb + i + 1u] - x0 - mean;
		float a2 = x[xb + i + 2u] - x0 - mean, a3 = x[xb + i + 3u] - x0 - mean;
		d0 += a0; d1 += a1; d2 += a2; d3 += a3;
		q0 += a0 * a0; q1 += a1 * a1; q2 += a2 * a2; q3 += a3 * a3;
	}
	for (; i < n; i++) {
		float a0 = x[xb + i] - x0 - mean;
		d0 += a0;
		q0 += a0 * a0;
	}
	float sd = (d0 + d1) + (d2 + d3);
	float var = max(((q0 + q1) + (q2 + q3) - sd * sd * p.inv_n) * p.inv_n, 0.0);
	float rstd = 1.0 / sqrt(var + p.eps);
	for (i = 0u; i + 4u <= n; i += 4u) {
		y[yb + i] = (x[xb + i] - x0 - mean) * rstd * w[p.wo + i] + b[p.bo + i];
		y[yb + i + 1u] = (x[xb + i + 1u] - x0 - mean) * rstd * w[p.wo + i + 1u] + b[p.bo + i + 1u];
		y[yb + i + 2u] = (x[xb + i + 2u] - x0 - mean) * rstd * w[p.wo + i + 2u] + b[p.bo + i + 2u];
		y[yb + i + 3u] = (x[xb + i + 3u] - x0 - mean) * rstd * w[p.wo + i + 3u] + b[p.bo + i + 3u];
	}
	for (; i < n; i++) y[yb + i] = (x[xb + i] - x0 - mean) * rstd * w[p.wo + i] + b[p.bo + i];
}
