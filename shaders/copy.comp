#version 450
// copy: Y[i] = X[i] for i < n.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint n; } p;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
void main() {
	uint i = flat_index();
	if (i < p.n) y[i] = x[i];
}
