#version 450
#extension GL_EXT_samplerless_texture_functions : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require
// The CPU-type GEMM with X rows exchanged by subgroup shuffles (devices whose subgroup is 8
// lanes or any other fixed size); see gemm_texel.glsl.
#define GEMM_SUBGROUP 1
#include "gemm_texel.glsl"
