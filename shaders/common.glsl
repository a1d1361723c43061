// common.glsl: helpers shared by vilt-vk compute shaders.
#ifndef VILT_COMMON_GLSL
#define VILT_COMMON_GLSL

// Flattened invocation index for 1-D work laid out on a 2-D grid (dispatch sizes may exceed
// maxComputeWorkGroupCount[0] = 65535 on some devices).
uint flat_index() {
	return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
}

#endif
