#version 450
#extension GL_EXT_samplerless_texture_functions : require
// gather_rows_tex: gather_rows.comp for float32 rows with width % 4 == 0: X read as RGBA32F
// texels, Y written as vec4. One invocation per (row, chunk of CHUNK texels), so the index
// arithmetic is paid once per chunk. nitems counts those items; width4, xo4 and yo4 count
// texels.
// Same index rules: mode 0 skips negative indices, mode 1 clamps them to 0; indices ≥ xrows
// clamp to the last row.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint nitems; uint width4; uint xrows; uint row0; uint xo4; uint yo4; uint io; uint mode;
} p;
layout(binding = 0) uniform textureBuffer X;
layout(std430, binding = 1) readonly buffer I { int idx[]; };
layout(std430, binding = 2) buffer Y { vec4 y[]; };
const uint CHUNK = 16u;
void main() {
	uint e = flat_index();
	if (e >= p.nitems) return;
	uint nch = (p.width4 + CHUNK - 1u) / CHUNK;
	uint i = e / nch;
	uint c0 = (e - i * nch) * CHUNK;
	uint c1 = min(c0 + CHUNK, p.width4);
	int j = idx[p.io + i];
	if (j < 0) {
		if (p.mode == 0u) return;
		j = 0;
	}
	uint s = min(uint(j), p.xrows - 1u);
	uint yb = p.yo4 + (p.row0 + i) * p.width4;
	int xb = int(p.xo4 + s * p.width4);
	for (uint c = c0; c < c1; c++) y[yb + c] = texelFetch(X, xb + int(c));
}
