#version 450
#extension GL_EXT_samplerless_texture_functions : require
#extension GL_EXT_control_flow_attributes : require
// The CPU-type GEMM; see gemm_texel.glsl.
#include "gemm_texel.glsl"
