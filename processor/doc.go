// Package processor turns raw text and images into ViLT model inputs exactly as
// Hugging Face transformers' ViltProcessor does: the slow BertTokenizer (uncased
// WordPiece) and ViltImageProcessor (Pillow's fixed-point bicubic resize, rescale,
// normalise, pad with a pixel mask).
//
// The goal is bit-for-bit parity with transformers (see shared/golden/README.md),
// so several functions copy Python or Pillow quirks deliberately; the comments
// say which. The package depends on nothing else in this repository.
package processor
