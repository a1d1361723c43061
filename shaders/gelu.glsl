// gelu.glsl: gelu_acc, the exact-erf GELU with relative error below 1e-6 on -10..10 (see
// gelu.comp for why math.glsl's gelu_erf is not enough for x ≪ 0). Shared by gelu.comp and
// gelu_tex.comp.
#ifndef VILT_GELU_GLSL
#define VILT_GELU_GLSL
#include "math.glsl"

// exp_cw is exp(a) for -87 < a ≤ 0 with Cody-Waite range reduction.
float exp_cw(float a) {
	const float LOG2E = 1.44269504088896341;
	const float C1 = 0.693359375;       // ln 2 high part, 9 significant bits: k·C1 is exact
	const float C2 = -2.12194440e-4;    // ln 2 - C1
	float k = floor(a * LOG2E + 0.5);
	float r = (a - k * C1) - k * C2;
	return ldexp(exp(r), int(k));
}

// erfc_neg is erfc(-x/√2) for x ≤ 0 with the Chebyshev fit of math.glsl's erfc_pos, whose
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

// gelu_acc(v) = 0.5·v·erfc(-v/√2): one branch-free erfc evaluation of |v| serves both signs
// (erfc(-u) = 2 - erfc(u)), so SIMD lanes of mixed signs do not run two paths.
float gelu_acc(float v) {
	float c = erfc_neg(-abs(v));
	return 0.5 * v * (v >= 0.0 ? 2.0 - c : c);
}

#endif
