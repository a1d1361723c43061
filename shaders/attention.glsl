// attention.glsl: the body of attention.comp and attention_sg.comp (ATT_SUBGROUP).
// attention: fused softmax(Q·Kᵀ/√d + keymask)·V per (batch, head), flash-attention style:
// a running max and sum over key blocks, no score matrix in memory. One invocation per query
// row; the workgroup's invocations are consecutive queries of one (batch, head), so every key
// and value texel is read at one address by the whole workgroup (a broadcast).
//
// QKV is the fused projection output [B, S, 3H] (Q | K | V, head h at features h·d..h·d+d-1),
// read as an RGBA32F texel buffer, or with ATT_STORAGE as a vec4 storage buffer (H and d
// multiples of 4). maskadd [B, S] holds the additive key mask ((1 - mask)·float32_min, as
// transformers builds it). ctx [B, S, H] receives the per-head outputs side by side, ready for
// the output projection. With PROBS = 1 the softmax probabilities [B, heads, S, S] are written
// too (a second pass over the keys). One dispatch may cover a chunk of the batch (views are
// size-limited): every binding starts at the chunk's first batch item plus the offsets q0, m0,
// c0, p0 (alignment slack).

#ifndef VILT_ATTENTION_GLSL
#define VILT_ATTENTION_GLSL

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;    // head dim / 4
layout(constant_id = 2) const uint PROBS = 0;
layout(constant_id = 3) const uint KB = 8;     // keys per block (one max/rescale per block)
layout(constant_id = 4) const uint SG = 8;     // subgroup size (ATT_SUBGROUP; KB ≤ SG)

layout(push_constant) uniform P {
	uint S;        // sequence length
	uint H4;       // hidden / 4 (texels)
	uint heads;
	float sqrt_d;  // scores are divided by √d, as transformers does
	uint q0;       // texel offset of the chunk's QKV in its view
	uint m0, c0, p0; // element offsets of mask, ctx (in vec4s) and probs in their bindings
} p;

#ifdef ATT_STORAGE
layout(std430, binding = 0) readonly buffer QKVB { vec4 qkvb[]; };
#define FETCH_QKV(i) qkvb[i]
#else
layout(binding = 0) uniform textureBuffer QKV;
#define FETCH_QKV(i) texelFetch(QKV, int(i))
#endif
layout(std430, binding = 1) readonly buffer Mask { float maskadd[]; };
layout(std430, binding = 2) writeonly buffer Ctx { vec4 ctx[]; };
layout(std430, binding = 3) writeonly buffer Probs { float probs[]; };

void main() {
	const uint q = gl_GlobalInvocationID.x;
	const uint bh = gl_WorkGroupID.y;
	const uint b = bh / p.heads, h = bh % p.heads;
	const uint S = p.S;
	const uint qc = min(q, S - 1);
	const int row = int(3 * p.H4);               // texels per token row
	const int base = int(p.q0) + int(b * S) * row;

	vec4 qv[D4];
	const int qoff = base + int(qc) * row + int(h * D4);
	[[unroll]] for (uint i = 0; i < D4; i++) qv[i] = FETCH_QKV(qoff + int(i));
	const int koff = base + int(p.H4 + h * D4);
	const int voff = base + int(2 * p.H4 + h * D4);

	float m = -3.402823466e38;  // running max (finite: masked scores are float32_min)
	float l = 0.0;
	vec4 acc[D4];
	[[unroll]] for (uint i = 0; i < D4; i++) acc[i] = vec4(0.0);

	for (uint k0 = 0; k0 < S; k0 += KB) {
		float s[KB];
		float bmax = -3.402823466e38;
#ifdef ATT_SUBGROUP
		// Lane l fetches key k0 + l%KB once and the lanes exchange key (and value) rows by
		// subgroup shuffles, instead of every lane fetching every row (KB ≤ SG, the workgroup
		// whole subgroups). 1.7× the broadcast form on lavapipe.
		const uint mykey = min(k0 + gl_SubgroupInvocationID % KB, S - 1);
		vec4 kl[D4];
		[[unroll]] for (uint i = 0; i < D4; i++) kl[i] = FETCH_QKV(koff + int(mykey) * row + int(i));
		const float mymask = maskadd[p.m0 + b * S + mykey];
		[[unroll]] for (uint j = 0; j < KB; j++) {
			float dotv = 0.0;
			[[unroll]] for (uint i = 0; i < D4; i++) dotv += dot(qv[i], subgroupShuffle(kl[i], j));
			s[j] = dotv / p.sqrt_d + subgroupShuffle(mymask, j);
			if (k0 + j < S) bmax = max(bmax, s[j]);
		}
#else
		[[unroll]] for (uint j = 0; j < KB; j++) {
			uint key = min(k0 + j, S - 1);
			int kk = koff + int(key) * row;
			float dotv = 0.0;
			[[unroll]] for (uint i = 0; i < D4; i++) dotv += dot(qv[i], FETCH_QKV(kk + int(i)));
			s[j] = dotv / p.sqrt_d + maskadd[p.m0 + b * S + key];
			if (k0 + j < S) bmax = max(bmax, s[j]);
		}
#endif
		float mnew = max(m, bmax);
		float corr = exp(m - mnew);
		l *= corr;
		[[unroll]] for (uint i = 0; i < D4; i++) acc[i] *= corr;
#ifdef ATT_SUBGROUP
		[[unroll]] for (uint i = 0; i < D4; i++) kl[i] = FETCH_QKV(voff + int(mykey) * row + int(i));
		[[unroll]] for (uint j = 0; j < KB; j++) {
			float pj = k0 + j < S ? exp(s[j] - mnew) : 0.0;
			l += pj;
			[[unroll]] for (uint i = 0; i < D4; i++) acc[i] += pj * subgroupShuffle(kl[i], j);
		}
#else
		[[unroll]] for (uint j = 0; j < KB; j++) {
			if (k0 + j >= S) continue;
			float pj = exp(s[j] - mnew);
			l += pj;
			int vv = voff + int(k0 + j) * row;
			[[unroll]] for (uint i = 0; i < D4; i++) acc[i] += pj * FETCH_QKV(vv + int(i));
		}
#endif
		m = mnew;
	}
	if (q >= S) return;
	const float inv = 1.0 / l;
	const uint obase = p.c0 + (b * S + q) * p.H4 + h * D4;
	[[unroll]] for (uint i = 0; i < D4; i++) ctx[obase + i] = acc[i] * inv;

	if (PROBS != 0u) {
		const uint pbase = p.p0 + ((b * p.heads + h) * S + q) * S;
		for (uint key = 0; key < S; key++) {
			int kk = koff + int(key) * row;
			float dotv = 0.0;
			[[unroll]] for (uint i = 0; i < D4; i++) dotv += dot(qv[i], FETCH_QKV(kk + int(i)));
			float sc = dotv / p.sqrt_d + maskadd[p.m0 + b * S + key];
			probs[pbase + key] = exp(sc - m) * inv;
		}
	}
}

#endif
