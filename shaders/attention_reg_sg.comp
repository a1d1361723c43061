#version 450
#extension GL_EXT_samplerless_texture_functions : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require
// Fused flash attention reading QKV from a storage buffer, K/V rows exchanged by subgroup
// shuffles; see attention.glsl.
#define ATT_STORAGE 1
#define ATT_SUBGROUP 1
#include "attention.glsl"
