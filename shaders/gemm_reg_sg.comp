#version 450
#extension GL_EXT_samplerless_texture_functions : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require
// The storage-buffer CPU-type GEMM with X rows exchanged by subgroup shuffles; see gemm_texel.glsl.
#define GEMM_STORAGE 1
#define GEMM_SUBGROUP 1
#include "gemm_texel.glsl"
