#version 450
// gather_rows: for every index i < nidx and column c < width,
//   Y[row0 + i, c] = X[clamp(idx[i], 0, xrows-1), c]
// copying 32-bit words bit for bit (any 32-bit dtype). mode 0 (gather): a negative idx[i]
// leaves destination row row0+i untouched; mode 1 (embedding): negative indices clamp to 0.
// Indices ≥ xrows always clamp to the last row, so no index reads out of bounds. One
// invocation per destination element.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P {
	uint n; uint width; uint xrows; uint row0; uint xo; uint yo; uint io; uint mode;
} p;
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) readonly buffer I { int idx[]; };
layout(std430, binding = 2) buffer Y { uint y[]; };
void main() {
	uint e = flat_index();
	if (e >= p.n) return;
	uint i = e / p.width;
	uint c = e - i * p.width;
	int j = idx[p.io + i];
	if (j < 0) {
		if (p.mode == 0u) return;
		j = 0;
	}
	uint s = min(uint(j), p.xrows - 1u);
	y[p.yo + (p.row0 + i) * p.width + c] = x[p.xo + s * p.width + c];
}
