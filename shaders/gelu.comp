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
// (see erfc_neg). x ≥ 0 uses gelu_erf unchanged.
#include "common.glsl"
#include "math.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint n; uint xo; uint yo; } p;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };

// exp_cw is exp(a) for -87 < a ≤ 0 with Cody-Waite range reduction.
float exp_cw(float a) {
	const float LOG2E = 1.44269504088896341;
	const float C1 = 0.693359375;       // ln 2 high part, 9 significant bits: k·C1 is exact
	const float C2 = -2.12194440e-4;    // ln 2 - C1
	float k = floor(a * LOG2E + 0.5);
	float r = (a - k * C1) - k * C2;
	return ldexp(exp(r), int(k));
}

// erfc_neg is erfc(-x/√2) for x < 0 with the Chebyshev fit of math.glsl's erfc_pos, whose
// exp(-z² + ...) is evaluated as exp(-x²/2) without fp32 rounding of the large argument:
// with a = -x = ah + al (ah holding 12 significant bits), x²/2 = ah²/2 + al(a+ah)/2 where
// ah²/2 is exact. (Forming z = x/√2 first would cost 2z²·2^-24 ≈ 6e-6 relative at x = -10.)
float erfc_neg(float x) {
	const float INV_SQRT2 = 0.70710678118654752;
	float a = -x;
	float z = a * INV_SQRT2;
	float t = 1.0 / (1.0 + 0.5 * z);
	float ah = uintBitsToFloat(floatBitsToUint(a) & 0xFFFFF000u);
	float al = a - ah;
	float poly = -1.26551223 +
		t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
		t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 +
		t * 0.17087277))))))));
	return t * exp_cw(-0.5 * (ah * ah)) * exp(poly - 0.5 * al * (a + ah));
}

float gelu_acc(float v) {
	if (v >= 0.0) return gelu_erf(v);
	return 0.5 * v * erfc_neg(v);
}

void main() {
	uint i = flat_index();
	if (i < p.n) y[p.yo + i] = gelu_acc(x[p.xo + i]);
}
