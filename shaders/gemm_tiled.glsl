// gemm_tiled.glsl: the body of gemm_tiled and gemm_tiled_h (W16: W stored as IEEE half,
// read through 16-bit storage and widened to float; arithmetic stays float).
// gemm_tiled: Y = epilogue(X · op(W) + bias), the GPU-type variant: shared-memory tiles of
// BM×BK of X and BK×BN of W per workgroup, a TM×TN register tile per invocation, storage
// buffers, vec4 global loads when the shape is aligned (VEC4) and a bounds-checked edge path.
//
// X is [M,K] (row stride ldx). W is the PyTorch Linear weight [N,K] (row stride ldw) or, with
// WT = 1, a [K,N] matrix (as V in attention's P·V). Batched: workgroup z is the batch index,
// with element strides bx, bw, by between batches (0 to share an operand). x0, w0, y0, r0 and
// b0 are the operands' element offsets in their bindings (binding offsets are aligned down to
// minStorageBufferOffsetAlignment, so tensors may start anywhere).
// Workgroup: (BN/TN)·(BM/TM) invocations = 128 with the defaults (within every device's minimum).
// Shared memory: (BM + BN)·BK·4 bytes = 8 KiB with the defaults.
#ifndef VILT_GEMM_TILED_GLSL
#define VILT_GEMM_TILED_GLSL
#include "math.glsl"
#include "gelu.glsl"

layout(constant_id = 0) const uint BM = 64;
layout(constant_id = 1) const uint BN = 64;
layout(constant_id = 2) const uint BK = 16;
layout(constant_id = 3) const uint TM = 8;
layout(constant_id = 4) const uint TN = 4;
layout(constant_id = 5) const uint EPI = 0;
layout(constant_id = 6) const uint WT = 0;
layout(constant_id = 7) const uint VEC4 = 0;  // K (and ldx, ldw, offsets) multiples of 4
layout(local_size_x_id = 8, local_size_y_id = 9) in;  // BN/TN, BM/TM

layout(push_constant) uniform P {
	uint M, N, K;
	uint ldx, ldw, ldy, ldr;
	uint bx, bw, by, br;
	float alpha;
	uint x0, w0, y0, r0, b0;
} p;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
#ifdef W16
layout(std430, binding = 1) readonly buffer W { float16_t w[]; };
layout(std430, binding = 1) readonly buffer W4 { f16vec4 w4[]; };
#define LOAD_W(i) float(w[i])
#define LOAD_W4(i) vec4(w4[i])
#else
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 1) readonly buffer W4 { vec4 w4[]; };
#define LOAD_W(i) w[i]
#define LOAD_W4(i) w4[i]
#endif
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) readonly buffer Res { float res[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; };

shared float As[BK][BM + 1];
shared float Bs[BK][BN + 1];

void main() {
	const uint tx = gl_LocalInvocationID.x;  // column block
	const uint ty = gl_LocalInvocationID.y;  // row block
	const uint nthreads = gl_WorkGroupSize.x * gl_WorkGroupSize.y;
	const uint tid = ty * gl_WorkGroupSize.x + tx;
	const uint m0 = gl_WorkGroupID.y * BM;
	const uint n0 = gl_WorkGroupID.x * BN;
	const uint batch = gl_WorkGroupID.z;
	const uint xoff = p.x0 + batch * p.bx, woff = p.w0 + batch * p.bw;

	float acc[TM][TN];
	[[unroll]] for (uint i = 0; i < TM; i++)
		[[unroll]] for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;

	for (uint k0 = 0; k0 < p.K; k0 += BK) {
		// X tile: BM rows × BK columns.
		if (VEC4 != 0u && k0 + BK <= p.K) {
			for (uint e = tid; e < BM * BK / 4; e += nthreads) {
				uint r = e / (BK / 4), c4 = e % (BK / 4);
				uint m = m0 + r;
				vec4 v = m < p.M ? x4[(xoff + m * p.ldx + k0) / 4 + c4] : vec4(0.0);
				As[c4 * 4 + 0][r] = v.x; As[c4 * 4 + 1][r] = v.y;
				As[c4 * 4 + 2][r] = v.z; As[c4 * 4 + 3][r] = v.w;
			}
		} else {
			for (uint e = tid; e < BM * BK; e += nthreads) {
				uint r = e / BK, c = e % BK;
				uint m = m0 + r, k = k0 + c;
				As[c][r] = (m < p.M && k < p.K) ? x[xoff + m * p.ldx + k] : 0.0;
			}
		}
		// W tile: BK × BN.
		if (WT == 0u) {
			if (VEC4 != 0u && k0 + BK <= p.K) {
				for (uint e = tid; e < BN * BK / 4; e += nthreads) {
					uint r = e / (BK / 4), c4 = e % (BK / 4);
					uint n = n0 + r;
					vec4 v = n < p.N ? LOAD_W4((woff + n * p.ldw + k0) / 4 + c4) : vec4(0.0);
					Bs[c4 * 4 + 0][r] = v.x; Bs[c4 * 4 + 1][r] = v.y;
					Bs[c4 * 4 + 2][r] = v.z; Bs[c4 * 4 + 3][r] = v.w;
				}
			} else {
				for (uint e = tid; e < BN * BK; e += nthreads) {
					uint r = e / BK, c = e % BK;
					uint n = n0 + r, k = k0 + c;
					Bs[c][r] = (n < p.N && k < p.K) ? LOAD_W(woff + n * p.ldw + k) : 0.0;
				}
			}
		} else {
			for (uint e = tid; e < BN * BK; e += nthreads) {
				uint c = e / BN, r = e % BN;
				uint n = n0 + r, k = k0 + c;
				Bs[c][r] = (n < p.N && k < p.K) ? LOAD_W(woff + k * p.ldw + n) : 0.0;
			}
		}
		barrier();
		[[unroll]] for (uint kk = 0; kk < BK; kk++) {
			float a[TM];
			[[unroll]] for (uint i = 0; i < TM; i++) a[i] = As[kk][ty * TM + i];
			[[unroll]] for (uint j = 0; j < TN; j++) {
				float b = Bs[kk][tx * TN + j];
				[[unroll]] for (uint i = 0; i < TM; i++) acc[i][j] += a[i] * b;
			}
		}
		barrier();
	}

	[[unroll]] for (uint i = 0; i < TM; i++) {
		uint m = m0 + ty * TM + i;
		if (m >= p.M) continue;
		[[unroll]] for (uint j = 0; j < TN; j++) {
			uint n = n0 + tx * TN + j;
			if (n >= p.N) continue;
			float v = acc[i][j] * p.alpha;
			if ((EPI & EPI_BIAS) != 0u) v += bias[p.b0 + n];
			if ((EPI & EPI_GELU) != 0u) v = gelu_acc(v);
			if ((EPI & EPI_TANH) != 0u) v = tanh_f(v);
			if ((EPI & EPI_RESIDUAL) != 0u) v += res[p.r0 + batch * p.br + m * p.ldr + n];
			y[p.y0 + batch * p.by + m * p.ldy + n] = v;
		}
	}
}

#endif
