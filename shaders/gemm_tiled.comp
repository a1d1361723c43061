#version 450
#extension GL_EXT_control_flow_attributes : require
// The GPU-type GEMM; see gemm_tiled.glsl.
#include "gemm_tiled.glsl"
