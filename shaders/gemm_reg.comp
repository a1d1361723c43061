#version 450
#extension GL_EXT_samplerless_texture_functions : require
#extension GL_EXT_control_flow_attributes : require
// The CPU-type GEMM reading X and packed W from storage buffers; see gemm_texel.glsl.
#define GEMM_STORAGE 1
#include "gemm_texel.glsl"
