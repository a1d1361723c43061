#version 450
// tanh: Y[i] = tanh(X[i]) (tanh_f from math.glsl) for i < n. Element offsets (xo, yo) let
// tensors be views. In place is allowed.
#include "common.glsl"
#include "math.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint n; uint xo; uint yo; } p;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };
void main() {
	uint i = flat_index();
	if (i < p.n) y[p.yo + i] = tanh_f(x[p.xo + i]);
}
