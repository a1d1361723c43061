#version 450
// add: Y[i] = A[i] + B[i % nb] for i < n (B broadcast along rows when nb < n, e.g. a bias).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint n; uint nb; } p;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
void main() {
	uint i = flat_index();
	if (i < p.n) y[i] = a[i] + b[i % p.nb];
}
