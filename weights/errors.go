package weights

import "errors"

// Sentinel errors; wrapped errors carry the file and tensor they concern.
var (
	// ErrNotFound: a tensor or file that is not there.
	ErrNotFound = errors.New("not found")
	// ErrFormat: a file that is truncated, inconsistent or not in the expected format.
	ErrFormat = errors.New("invalid checkpoint format")
	// ErrDType: an element type this package does not know or cannot convert.
	ErrDType = errors.New("unsupported dtype")
	// ErrUnsafePickle: a pickle that names a global outside the allow-list. Nothing in
	// the pickle is executed either way; the file is refused.
	ErrUnsafePickle = errors.New("pickle names a global outside the allow-list")
	// ErrLegacyTorch: a file written by torch.save before PyTorch 1.6 (not a zip).
	ErrLegacyTorch = errors.New("legacy (non-zip) torch.save format is not supported; re-save it with PyTorch >= 1.6 or convert it to safetensors")
)
