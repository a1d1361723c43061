// Package processor turns raw text and images into ViLT model inputs exactly as
// Hugging Face transformers' ViltProcessor does: the slow BertTokenizer (uncased
// WordPiece) and ViltImageProcessor (Pillow's fixed-point bicubic resize,
// rescale, normalise, pad with a pixel mask).
//
// The goal is bit-for-bit parity with transformers and Pillow (see
// shared/golden/README.md), so several functions reproduce Python or Pillow
// behaviour on purpose; their comments say which. Verified against the goldens:
// every tokenizer case (ids, masks, decode), every resized image (byte-exact),
// pixel values and masks (bit-identical), JPEG decoding (our decoder gives
// libjpeg-turbo's bytes, see jpeg.go). Lossy WebP is decoded by Go's decoder,
// which differs from libwebp by a few levels per byte; given the same RGB
// array the rest is exact.
//
// Typical use:
//
//	p, err := processor.LoadProcessor(os.DirFS(modelDir))
//	img, err := processor.DecodeImage(f, processor.DecodeOptions{})
//	b, err := p.Process(processor.Inputs{Texts: []string{q}, Images: []*processor.RGBImage{img}}, processor.EncodeOptions{})
//	// b.InputIDs, b.AttentionMask, b.TokenTypeIDs, b.PixelValues, b.PixelMask
//
// One deliberate difference: text longer than the model's 40 positions is
// truncated (with one warning) instead of being passed on to fail in the
// model; TruncationError makes it an error instead.
//
// Of this repository it uses only weights (the safetensors writer); it knows nothing of Vulkan.
package processor
