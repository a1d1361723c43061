#version 450
// gather_rows_tex: gather_rows.comp for float32 rows with width % 4 == 0: X read as RGBA32F
// texels, Y written as vec4, one texel per invocation. width4, xo4 and yo4 count texels.
// Same index rules: mode 0 skips negative indices, mode 1 clamps them to 0; indices ≥ xrows
// clamp to the last row.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint n4; uint width4; uint xrows; uint row0; uint xo4; uint yo4; uint io; uint mode;
} p;
layout(binding = 0) uniform samplerBuffer X;
layout(std430, binding = 1) readonly buffer I { int idx[]; };
layout(std430, binding = 2) buffer Y { vec4 y[]; };
void main() {
	uint e = flat_index();
	if (e >= p.n4) return;
	uint i = e / p.width4;
	uint c = e - i * p.width4;
	int j = idx[p.io + i];
	if (j < 0) {
		if (p.mode == 0u) return;
		j = 0;
	}
	uint s = min(uint(j), p.xrows - 1u);
	y[p.yo4 + (p.row0 + i) * p.width4 + c] = texelFetch(X, int(p.xo4 + s * p.width4 + c));
}
