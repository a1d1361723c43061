package weights

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Checkpoint is a set of named tensors: a file, a sharded set of files, or a generator.
type Checkpoint interface {
	// Names lists every tensor name, sorted.
	Names() []string
	// Tensor returns the named tensor (an error wrapping ErrNotFound if absent). Its
	// bytes stay valid until Close.
	Tensor(name string) (*Tensor, error)
	// Close releases the files and memory maps. Idempotent.
	Close() error
}

// File names of a Hugging Face model folder, in the order OpenDir prefers them.
const (
	SafetensorsFile      = "model.safetensors"
	SafetensorsIndexFile = "model.safetensors.index.json"
	PyTorchFile          = "pytorch_model.bin"
	PyTorchIndexFile     = "pytorch_model.bin.index.json"
)

// WeightFiles lists the weight file names OpenDir understands, most preferred first.
var WeightFiles = []string{SafetensorsFile, SafetensorsIndexFile, PyTorchFile, PyTorchIndexFile}

// OpenDir opens the weights of a model folder: model.safetensors, else the sharded
// model.safetensors.index.json, else pytorch_model.bin, else its index.
func OpenDir(dir string) (Checkpoint, error) {
	for _, name := range WeightFiles {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return Open(p)
		}
	}
	return nil, fmt.Errorf("open weights in %s: %w: none of %s", dir, ErrNotFound, strings.Join(WeightFiles, ", "))
}

// Open opens a checkpoint file, a *.index.json of shards, or a model folder (OpenDir),
// choosing the reader by name and, failing that, by content.
func Open(path string) (Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open weights: %w", err)
	}
	if st.IsDir() {
		return OpenDir(path)
	}
	switch {
	case strings.HasSuffix(path, ".index.json"):
		return OpenSharded(path)
	case strings.HasSuffix(path, ".safetensors"):
		return OpenSafetensors(path)
	case strings.HasSuffix(path, ".bin"), strings.HasSuffix(path, ".pt"), strings.HasSuffix(path, ".pth"):
		return OpenPyTorch(path)
	}
	// Sniff: a zip starts with "PK", a safetensors file with a small header length.
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open weights: %w", err)
	}
	var head [8]byte
	_, _ = f.Read(head[:])
	f.Close()
	if string(head[:2]) == "PK" || head[0] == 0x80 {
		return OpenPyTorch(path)
	}
	return OpenSafetensors(path)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TotalParams sums the element counts of the float tensors of c (integer buffers such
// as position_ids are not parameters).
func TotalParams(c Checkpoint) (int64, error) {
	var n int64
	for _, name := range c.Names() {
		t, err := c.Tensor(name)
		if err != nil {
			return 0, err
		}
		if t.DType.IsFloat() {
			n += int64(t.NumElements())
		}
	}
	return n, nil
}
