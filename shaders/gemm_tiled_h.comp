#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_16bit_storage : require
// The GPU-type GEMM with half-precision W (needs storageBuffer16BitAccess); see gemm_tiled.glsl.
#define W16 1
#include "gemm_tiled.glsl"
