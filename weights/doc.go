// Package weights reads ViLT checkpoints and the files that come with them.
//
// It knows the on-disk formats (safetensors, PyTorch's zip/pickle .bin, sharded
// *.index.json checkpoints), the mapping of state-dict keys to the ViLT model, and a
// synthetic full-size weight source. The tokenizer and image-processor side files
// (tokenizer_config.json, special_tokens_map.json, vocab.txt / tokenizer.json,
// preprocessor_config.json) are read by package processor; config.json by package vilt.
//
// Tensors are views: a safetensors file and the stored entries of a .bin are
// memory-mapped, so opening a 500 MB checkpoint costs a few page-table entries, and
// Tensor.WriteTo streams float32 bytes to a GPU staging buffer in small chunks without a
// second full copy. The package knows nothing of Vulkan.
package weights
