#version 450
// gelu: Y[i] = 0.5·X[i]·(1 + erf(X[i]/√2)) (exact erf form) for i < n. Element offsets
// (xo, yo) let tensors be views. In place is allowed.
//
// gelu_erf from math.glsl is accurate to ~1e-7 relative for x > -4, but for x ≪ 0 its
// exp(-z² + ...) argument (~-50 at x = -10) carries fp32 rounding and exp's own error grows
// with |argument| (Vulkan allows 3+2|x| ULP), reaching ~1e-5 relative at x = -10 (on values
// below 1e-6 in magnitude). gelu_acc keeps the relative error below 1e-6 on all of -10..10:
// for x < 0 it evaluates exp(-x²/2) from an exact split of x² with Cody-Waite range reduction
// (exact 2^k scaling, exp only on |r| ≤ ln2/2) and the small rest of the argument directly
// (see erfc_neg in gelu.glsl), and x ≥ 0 takes 2 - erfc of the same evaluation.
#include "common.glsl"
#include "gelu.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint n; uint xo; uint yo; } p;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };

void main() {
	uint i = flat_index();
	if (i < p.n) y[p.yo + i] = gelu_acc(x[p.xo + i]);
}
