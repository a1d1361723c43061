#version 450
#extension GL_EXT_control_flow_attributes : require
// Fused flash attention; see attention.glsl.
#include "attention.glsl"
