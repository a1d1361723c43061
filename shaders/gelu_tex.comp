#version 450
#extension GL_EXT_samplerless_texture_functions : require
// gelu_tex: gelu.comp for n % 4 == 0 with X read as RGBA32F texels and Y written as vec4, one
// texel per invocation (about 3× faster than scalar storage-buffer access on lavapipe). n4,
// xo4 and yo4 count texels.
#include "common.glsl"
#include "gelu.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform P { uint n4; uint xo4; uint yo4; } p;
layout(binding = 0) uniform textureBuffer X;
layout(std430, binding = 1) buffer Y { vec4 y[]; };
void main() {
	uint i = flat_index();
	if (i >= p.n4) return;
	vec4 v = texelFetch(X, int(p.xo4 + i));
	y[p.yo4 + i] = vec4(gelu_acc(v.x), gelu_acc(v.y), gelu_acc(v.z), gelu_acc(v.w));
}
