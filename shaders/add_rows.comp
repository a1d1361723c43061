#version 450
// add_rows: Y[i] = A[i] + B[i % nb] for i < n: add.comp with element offsets (ao, bo, yo) so
// that any operand may be a view; B is broadcast over rows when nb < n (bias, modality row).
// In place (Y = A) is allowed.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint n; uint nb; uint ao; uint bo; uint yo; } p;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
void main() {
	uint i = flat_index();
	if (i < p.n) y[p.yo + i] = a[p.ao + i] + b[p.bo + i % p.nb];
}
