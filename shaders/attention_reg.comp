#version 450
#extension GL_EXT_samplerless_texture_functions : require
#extension GL_EXT_control_flow_attributes : require
// Fused flash attention reading QKV from a storage buffer; see attention.glsl.
#define ATT_STORAGE 1
#include "attention.glsl"
