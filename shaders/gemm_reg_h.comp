#version 450
#extension GL_EXT_samplerless_texture_functions : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_16bit_storage : require
// gemm_reg with half-precision packed W (needs storageBuffer16BitAccess); see gemm_texel.glsl.
#define GEMM_STORAGE 1
#define GEMM_W16 1
#include "gemm_texel.glsl"
