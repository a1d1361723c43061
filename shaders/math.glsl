// math.glsl: accurate transcendental helpers. Vulkan leaves the precision of tanh and friends
// loose, and GLSL has no erf, so the pooler's tanh and erf are built here from exp (3+2|x| ULP)
// with approximations whose own relative error is ~1e-7. The exact-erf GELU is gelu_acc in
// gelu.glsl (relative error below 1e-6 on -10..10).
#ifndef VILT_MATH_GLSL
#define VILT_MATH_GLSL

// erfc for z >= 0 (Chebyshev fit, fractional error < 1.2e-7 everywhere).
float erfc_pos(float z) {
	float t = 1.0 / (1.0 + 0.5 * z);
	float r = t * exp(-z * z - 1.26551223 +
		t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
		t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 +
		t * 0.17087277)))))))));
	return r;
}

// erf for any x.
float erf_f(float x) {
	float e = 1.0 - erfc_pos(abs(x));
	return x < 0.0 ? -e : e;
}

// tanh_f: Cephes' single-precision rational form near 0, exp form elsewhere.
float tanh_f(float x) {
	float a = abs(x);
	if (a < 0.625) {
		float z = x * x;
		float p = (((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z +
			1.33314422036e-1) * z - 3.33332819422e-1;
		return x + x * z * p;
	}
	if (a > 10.0) return sign(x);
	float r = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
	return x < 0.0 ? -r : r;
}

// Epilogue flags shared by GEMM variants (spec constant EPI).
const uint EPI_BIAS = 1u;
const uint EPI_GELU = 2u;
const uint EPI_RESIDUAL = 4u;
const uint EPI_TANH = 8u;

#endif
