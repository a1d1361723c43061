#version 450
#extension GL_EXT_samplerless_texture_functions : require
#extension GL_EXT_control_flow_attributes : require
// Fused flash attention; see attention.glsl.
#include "attention.glsl"
