// Package weights reads ViLT checkpoints and the files that come with them.
//
// It knows the on-disk formats (safetensors, PyTorch's zip/pickle .bin, sharded
// *.index.json checkpoints), the Hugging Face side files (preprocessor_config.json,
// tokenizer_config.json, vocab.txt / tokenizer.json), the mapping of state-dict keys to
// the ViLT model, and a synthetic full-size weight source (golden README §6).
//
// Tensors are views: a safetensors file and the stored entries of a .bin are
// memory-mapped, so opening a 500 MB checkpoint costs a few page-table entries, and
// Tensor.WriteTo streams float32 bytes to a GPU staging buffer in small chunks without a
// second full copy. The package knows nothing of Vulkan.
package weights
