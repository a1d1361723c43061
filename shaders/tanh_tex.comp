#version 450
#extension GL_EXT_samplerless_texture_functions : require
// tanh_tex: tanh.comp for n % 4 == 0 with X read as RGBA32F texels and Y written as vec4, one
// texel per invocation. n4, xo4 and yo4 count texels.
#include "common.glsl"
#include "math.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint n4; uint xo4; uint yo4; } p;
layout(binding = 0) uniform textureBuffer X;
layout(std430, binding = 1) buffer Y { vec4 y[]; };
void main() {
	uint i = flat_index();
	if (i >= p.n4) return;
	vec4 v = texelFetch(X, int(p.xo4 + i));
	y[p.yo4 + i] = vec4(tanh_f(v.x), tanh_f(v.y), tanh_f(v.z), tanh_f(v.w));
}
