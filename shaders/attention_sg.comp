#version 450
#extension GL_EXT_samplerless_texture_functions : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require
// Fused flash attention exchanging K/V rows by subgroup shuffles (any fixed subgroup size); see
// attention.glsl.
#define ATT_SUBGROUP 1
#include "attention.glsl"
