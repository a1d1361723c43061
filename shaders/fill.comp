#version 450
// fill: Y[i] = value for i < n.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint n; float value; } p;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
void main() {
	uint i = flat_index();
	if (i < p.n) y[i] = p.value;
}
