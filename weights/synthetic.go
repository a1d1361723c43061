package weights

import (
	"fmt"
	"strings"
)

// Synthetic is an in-memory checkpoint whose values follow the integer rule of golden
// README §6 (FNV-1a seed per key, a murmur-style finaliser per flat index). Every value
// is exact in float32, so a full-size model can be checked without shipping 470 MB of
// weights. Values are generated per tensor on demand; nothing is held in memory.
type Synthetic struct {
	spec   Spec
	shapes map[string][]int
	names  []string
}

// NewSynthetic returns the synthetic weights of the spec's state dict, under the keys
// transformers uses (with the "vilt." prefix in heads, which the seeds depend on).
func NewSynthetic(s Spec) *Synthetic {
	sy := &Synthetic{spec: s, shapes: map[string][]int{}}
	for _, ks := range s.StateDict() {
		sy.shapes[ks.Name] = ks.Shape
	}
	sy.names = sortedKeys(sy.shapes)
	return sy
}

// Names lists the keys, sorted.
func (sy *Synthetic) Names() []string { return sy.names }

// Tensor returns a generated F32 tensor.
func (sy *Synthetic) Tensor(name string) (*Tensor, error) {
	shape, ok := sy.shapes[name]
	if !ok {
		return nil, fmt.Errorf("synthetic tensor %q: %w", name, ErrNotFound)
	}
	seed := fnv1a32(name)
	scale, offset := syntheticScale(name, sy.spec)
	return GeneratedTensor(name, shape, func(dst []float32, start int) {
		for k := range dst {
			dst[k] = offset + syntheticV(uint32(start+k), seed)*scale
		}
	})
}

// Close does nothing.
func (sy *Synthetic) Close() error { return nil }

func fnv1a32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// syntheticV is v in [-1, 1) for flat index i.
func syntheticV(i, seed uint32) float32 {
	x := i*0x9E3779B1 + seed
	x ^= x >> 16
	x *= 0x85EBCA6B
	x ^= x >> 13
	x *= 0xC2B2AE35
	x ^= x >> 16
	u := x >> 16
	return float32(int32(u)-32768) / 32768
}

// syntheticScale gives value = offset + v·scale: 1+v/8 for LayerNorm weights, v/16 for
// LayerNorm biases, v/8 for any other key containing "embeddings", v/32 otherwise. All
// products are exact in float32, so offset + v·scale equals the rule's 1 + v/8 etc.
func syntheticScale(name string, s Spec) (scale, offset float32) {
	module, param, _ := cutLast(name, ".")
	if isLayerNormModule(module, s) {
		if param == "weight" {
			return 1.0 / 8, 1
		}
		return 1.0 / 16, 0
	}
	if strings.Contains(name, "embeddings") {
		return 1.0 / 8, 0
	}
	return 1.0 / 32, 0
}

func isLayerNormModule(module string, s Spec) bool {
	last := module
	if i := strings.LastIndexByte(module, '.'); i >= 0 {
		last = module[i+1:]
	}
	switch {
	case last == "LayerNorm", last == "layernorm_before", last == "layernorm_after":
		return true
	case module == s.Prefix()+"layernorm":
		return true
	case module == "classifier.1" && (s.Head == HeadVQA || s.Head == HeadNLVR2):
		return true
	}
	return false
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
