// gemm_texel.glsl: the body of the CPU-type GEMMs: gemm_texel, gemm_texel_sg (GEMM_SUBGROUP),
// gemm_reg and gemm_reg_sg (GEMM_STORAGE).
// Y[M,N] = epilogue(X[M,K] · W[N,K]ᵀ + bias), register-tiled, no shared memory, no barriers.
//
// Tuned for CPU Vulkan drivers (lavapipe): there storage-buffer loads become a per-lane scalar
// loop with bounds-check branches, while texelFetch on an RGBA32F uniform texel buffer is a
// vector gather (measured: 11 → 33 GFLOPS for the same tile). So X and W are texel buffers
// where the device's maxTexelBufferElements holds them; GEMM_STORAGE reads the same layouts
// from storage buffers (vec4) for devices whose texel limit is too small (Vulkan's minimum,
// 65,536 texels, is 1 MiB) or whose texel fetches are not faster. W is repacked once at load
// to [ceil(N/8)][K/4][8] texels (texel (g,q,l) = W[8g+l, 4q..4q+3], zero rows past N), so the
// 8 lanes of a column octet read adjacent texels, and each lane keeps TM×TN accumulators.
//
// Workgroup: LANES = 8·O lanes (O column octets). It owns rows m0..m0+TM-1 and column groups
// g0..g0+O·TN-1; lane l computes columns 8(g0 + (l/8)·TN + j) + l%8. Requires K % 4 == 0.
// The K loop is unrolled by four texels (16 k values), each step's four dot products summed
// before they reach the accumulator (1.4-1.55× the plain loop on lavapipe).
//
// One dispatch may cover a chunk of a larger product: rows mbase.. and groups gbase.. of Y,
// with X and W bound as views that start x0 / w0 texels before the chunk's first row / group
// (texel views are limited to maxTexelBufferElements, so large operands are split into
// chunks). Y, bias and residual are indexed globally from their element offsets.
#ifndef VILT_GEMM_TEXEL_GLSL
#define VILT_GEMM_TEXEL_GLSL
#include "math.glsl"
#include "gelu.glsl"

layout(local_size_x_id = 3) in;              // LANES = 8·octets
layout(constant_id = 0) const uint TM = 8;   // rows per workgroup
layout(constant_id = 1) const uint TN = 8;   // 8-column groups per lane
layout(constant_id = 2) const uint EPI = 0;  // EPI_* flags
layout(constant_id = 4) const uint SG = 8;   // subgroup size (GEMM_SUBGROUP)

layout(push_constant) uniform P {
	uint M, N, K4;    // rows in this chunk, columns of Y, K/4
	uint xs4;         // X row stride in texels
	uint ys;          // Y row stride in floats
	uint rs;          // residual row stride in floats
	uint ngroups;     // 8-column groups in this chunk
	uint mbase;       // Y row of the chunk's first row
	uint gbase;       // group of the chunk's first group
	uint x0, w0;      // texel offsets of the chunk's first X row / W group in their views
	uint y0, r0, b0;  // element offsets of Y, residual and bias in their bindings
} p;

#ifdef GEMM_STORAGE
layout(std430, binding = 0) readonly buffer XB { vec4 xb[]; };
#define FETCH_X(i) xb[i]
#ifdef GEMM_W16
// Half-precision W (needs storageBuffer16BitAccess): one f16vec4 per texel, widened on load.
// The texel forms read half W unchanged, through an RGBA16F view (gpu.TexelReadHalf).
layout(std430, binding = 1) readonly buffer WB { f16vec4 wb[]; };
#define FETCH_W(i) vec4(wb[i])
#else
layout(std430, binding = 1) readonly buffer WB { vec4 wb[]; };
#define FETCH_W(i) wb[i]
#endif
#else
layout(binding = 0) uniform textureBuffer X;
layout(binding = 1) uniform textureBuffer W;
#define FETCH_X(i) texelFetch(X, int(i))
#define FETCH_W(i) texelFetch(W, int(i))
#endif
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) readonly buffer Res { float res[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; };

void main() {
	const uint lane = gl_LocalInvocationID.x % 8;
	const uint octets = gl_WorkGroupSize.x / 8;
	const uint m0 = gl_WorkGroupID.y * TM;
	const uint g0 = gl_WorkGroupID.x * TN * octets + (gl_LocalInvocationID.x / 8) * TN;

	uint xrow[TM];
	[[unroll]] for (uint i = 0; i < TM; i++) xrow[i] = p.x0 + min(m0 + i, p.M - 1) * p.xs4;
	uint wrow[TN];
	[[unroll]] for (uint j = 0; j < TN; j++) wrow[j] = p.w0 + min(g0 + j, p.ngroups - 1) * p.K4 * 8 + lane;

	float acc[TM][TN];
	[[unroll]] for (uint i = 0; i < TM; i++)
		[[unroll]] for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;

	uint q = 0;
#ifdef GEMM_SUBGROUP
	// Each lane fetches the rows ≡ its subgroup index (mod SG) and the lanes exchange them with
	// subgroupShuffle, instead of every lane fetching all TM rows: TM/SG fetches per lane
	// instead of TM (any subgroup size; the workgroup is whole subgroups).
	const uint XR = (TM + SG - 1) / SG;
	uint xmine[XR];
	[[unroll]] for (uint t = 0; t < XR; t++) xmine[t] = p.x0 + min(m0 + gl_SubgroupInvocationID + t * SG, p.M - 1) * p.xs4;
#endif
	for (; q + 3 < p.K4; q += 4) {
		vec4 xv[TM][4];
#ifdef GEMM_SUBGROUP
		vec4 xl[XR][4];
		[[unroll]] for (uint t = 0; t < XR; t++) [[unroll]] for (uint u = 0; u < 4; u++) xl[t][u] = FETCH_X(xmine[t] + q + u);
		[[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint u = 0; u < 4; u++) xv[i][u] = subgroupShuffle(xl[i / SG][u], i % SG);
#else
		[[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint u = 0; u < 4; u++) xv[i][u] = FETCH_X(xrow[i] + q + u);
#endif
		[[unroll]] for (uint j = 0; j < TN; j++) {
			vec4 wv[4];
			[[unroll]] for (uint u = 0; u < 4; u++) wv[u] = FETCH_W(wrow[j] + (q + u) * 8);
			[[unroll]] for (uint i = 0; i < TM; i++) acc[i][j] += (dot(xv[i][0], wv[0]) + dot(xv[i][1], wv[1])) + (dot(xv[i][2], wv[2]) + dot(xv[i][3], wv[3]));
		}
	}
	for (; q < p.K4; q++) {
		vec4 xv[TM];
		[[unroll]] for (uint i = 0; i < TM; i++) xv[i] = FETCH_X(xrow[i] + q);
		[[unroll]] for (uint j = 0; j < TN; j++) {
			vec4 wv = FETCH_W(wrow[j] + q * 8);
			[[unroll]] for (uint i = 0; i < TM; i++) acc[i][j] += dot(xv[i], wv);
		}
	}

	[[unroll]] for (uint j = 0; j < TN; j++) {
		if (g0 + j >= p.ngroups) continue;
		uint n = (p.gbase + g0 + j) * 8 + lane;
		if (n >= p.N) continue;
		float b = (EPI & EPI_BIAS) != 0u ? bias[p.b0 + n] : 0.0;
		[[unroll]] for (uint i = 0; i < TM; i++) {
			if (m0 + i >= p.M) continue;
			uint m = p.mbase + m0 + i;
			float v = acc[i][j] + b;
			if ((EPI & EPI_GELU) != 0u) v = gelu_acc(v);
			if ((EPI & EPI_TANH) != 0u) v = tanh_f(v);
			if ((EPI & EPI_RESIDUAL) != 0u) v += res[p.r0 + m * p.rs + n];
			y[p.y0 + m * p.ys + n] = v;
		}
	}
}

#endif
