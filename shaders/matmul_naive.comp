#version 450
// matmul_naive: Y[M,N] = X[M,K] · W[N,K]ᵀ, one output per invocation. The reference GEMM
// that proves the runtime; the fast GEMMs live in gemm_*.comp.
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(push_constant) uniform P { uint M; uint N; uint K; } p;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
void main() {
	uint n = gl_GlobalInvocationID.x;
	uint m = gl_GlobalInvocationID.y;
	if (m >= p.M || n >= p.N) return;
	float acc = 0.0;
	for (uint k = 0; k < p.K; k++) acc += x[m * p.K + k] * w[n * p.K + k];
	y[m * p.N + n] = acc;
}
