#version 450
#extension GL_EXT_samplerless_texture_functions : require
// add_rows_tex: add_rows.comp for n % 4 == 0 and nb % 4 == 0 with A and B read as RGBA32F
// texels and Y written as vec4: Y4[i] = A4[i] + B4[i % nb4], one texel per invocation. All
// sizes and offsets count texels. In place (Y = A) is allowed.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint n4; uint nb4; uint ao4; uint bo4; uint yo4; } p;
layout(binding = 0) uniform textureBuffer A;
layout(binding = 1) uniform textureBuffer B;
layout(std430, binding = 2) buffer Y { vec4 y[]; };
void main() {
	uint i = flat_index();
	if (i >= p.n4) return;
	y[p.yo4 + i] = texelFetch(A, int(p.ao4 + i)) + texelFetch(B, int(p.bo4 + i % p.nb4));
}
