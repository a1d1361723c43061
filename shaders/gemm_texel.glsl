// gemm_texel.glsl: the body of gemm_texel.comp and gemm_texel_sg.comp (GEMM_SUBGROUP).
// gemm_texel: Y[M,N] = epilogue(X[M,K] · W[N,K]ᵀ + bias), the CPU-type variant.
//
// Tuned for CPU Vulkan drivers (lavapipe): there storage-buffer loads become a per-lane scalar
// loop with bounds-check branches, while texelFetch on an RGBA32F uniform texel buffer is a
// vector gather (../shared/notes/lavapipe-gemm-ceiling.md). So both operands are texel buffers,
// W is repacked once at load to [ceil(N/8)][K/4][8] texels (texel (g,q,l) = W[8g+l, 4q..4q+3],
// zero rows past N) so the 8 lanes of a workgroup read adjacent texels, there is no shared
// memory and no barrier, and each lane keeps TM×TN accumulators.
//
// Workgroup: 8 lanes. It owns rows m0..m0+TM-1 and column groups g0..g0+TN-1; lane l computes
// columns 8(g0+j)+l. Requires K % 4 == 0 (X rows are read as vec4 texels). The K loop is
// unrolled by four texels (16 k values), each step's four dot products summed before they
// reach the accumulator: measured on lavapipe 1.4-1.55× the plain loop (8×8 tile: 57-59 vs
// 36-38 GFLOPS per 2 CPU-seconds at the ViLT shapes).
#ifndef VILT_GEMM_TEXEL_GLSL
#define VILT_GEMM_TEXEL_GLSL
#include "math.glsl"
#include "gelu.glsl"

layout(local_size_x = 8) in;
layout(constant_id = 0) const uint TM = 8;   // rows per workgroup
layout(constant_id = 1) const uint TN = 8;   // 8-column groups per workgroup
layout(constant_id = 2) const uint EPI = 0;  // EPI_* flags

layout(push_constant) uniform P {
	uint M, N, K4;    // K4 = K/4
	uint xs4;         // X row stride in texels
	uint ys;          // Y row stride in floats
	uint rs;          // residual row stride in floats
	uint ngroups;     // ceil(N/8)
} p;

layout(binding = 0) uniform samplerBuffer X;
layout(binding = 1) uniform samplerBuffer W;
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) readonly buffer Res { float res[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; };

void main() {
	const uint lane = gl_LocalInvocationID.x;
	const uint m0 = gl_WorkGroupID.y * TM;
	const uint g0 = gl_WorkGroupID.x * TN;

	int xrow[TM];
	[[unroll]] for (uint i = 0; i < TM; i++) xrow[i] = int(min(m0 + i, p.M - 1) * p.xs4);
	int wrow[TN];
	[[unroll]] for (uint j = 0; j < TN; j++) wrow[j] = int(min(g0 + j, p.ngroups - 1) * p.K4 * 8 + lane);

	float acc[TM][TN];
	[[unroll]] for (uint i = 0; i < TM; i++)
		[[unroll]] for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;

	int q = 0;
#ifdef GEMM_SUBGROUP
	// Each lane fetches its own row's four texels and the lanes exchange them with
	// subgroupShuffle, instead of every lane fetching all TM rows: one texel fetch per row
	// instead of eight. Needs the workgroup to be exactly one subgroup of 8 (TM = 8).
	const int xmine = int(min(m0 + lane, p.M - 1) * p.xs4);
#endif
	for (; q + 3 < int(p.K4); q += 4) {
		vec4 xv[TM][4];
#ifdef GEMM_SUBGROUP
		vec4 xl[4];
		[[unroll]] for (int u = 0; u < 4; u++) xl[u] = texelFetch(X, xmine + q + u);
		[[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (int u = 0; u < 4; u++) xv[i][u] = subgroupShuffle(xl[u], i);
#else
		[[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (int u = 0; u < 4; u++) xv[i][u] = texelFetch(X, xrow[i] + q + u);
#endif
		[[unroll]] for (uint j = 0; j < TN; j++) {
			vec4 wv[4];
			[[unroll]] for (int u = 0; u < 4; u++) wv[u] = texelFetch(W, wrow[j] + (q + u) * 8);
			[[unroll]] for (uint i = 0; i < TM; i++) acc[i][j] += (dot(xv[i][0], wv[0]) + dot(xv[i][1], wv[1])) + (dot(xv[i][2], wv[2]) + dot(xv[i][3], wv[3]));
		}
	}
	for (; q < int(p.K4); q++) {
		vec4 xv[TM];
		[[unroll]] for (uint i = 0; i < TM; i++) xv[i] = texelFetch(X, xrow[i] + q);
		[[unroll]] for (uint j = 0; j < TN; j++) {
			vec4 wv = texelFetch(W, wrow[j] + q * 8);
			[[unroll]] for (uint i = 0; i < TM; i++) acc[i][j] += dot(xv[i], wv);
		}
	}

	[[unroll]] for (uint j = 0; j < TN; j++) {
		uint n = (g0 + j) * 8 + lane;
		if (n >= p.N) continue;
		float b = (EPI & EPI_BIAS) != 0u ? bias[n] : 0.0;
		[[unroll]] for (uint i = 0; i < TM; i++) {
			uint m = m0 + i;
			if (m >= p.M) continue;
			float v = acc[i][j] + b;
			if ((EPI & EPI_GELU) != 0u) v = gelu_acc(v);
			if ((EPI & EPI_TANH) != 0u) v = tanh_f(v);
			if ((EPI & EPI_RESIDUAL) != 0u) v += res[m * p.rs + n];
			y[m * p.ys + n] = v;
		}
	}
}

#endif
