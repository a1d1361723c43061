package weights

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fullVQASpec is full/config.json (ViltConfig(num_labels=3129)) as a Spec; the vilt
// package's tests check that the config file produces the same.
var fullVQASpec = Spec{
	Head: HeadVQA, VocabSize: 30522, TypeVocabSize: 2, ModalityTypeVocabSize: 2,
	MaxPositionEmbeddings: 40, HiddenSize: 768, NumHiddenLayers: 12, IntermediateSize: 3072,
	ImageSize: 384, PatchSize: 32, NumChannels: 3, QKVBias: true, NumLabels: 3129, NumImages: -1,
}

// The §6 integer rule reproduces first4 and the float64 sum of all 212 tensors of
// full/stats.json.
func TestSyntheticMatchesFullStats(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(goldenDir(t), "full", "stats.json"))
	if err != nil {
		t.Skip(err)
	}
	var stats struct {
		NumParameters int64 `json:"num_parameters"`
		WeightChecks  map[string]struct {
			Shape  []int     `json:"shape"`
			First4 []float64 `json:"first4"`
			Sum    float64   `json:"sum"`
		} `json:"weight_checks"`
	}
	if err := json.Unmarshal(b, &stats); err != nil {
		t.Fatal(err)
	}
	sy := NewSynthetic(fullVQASpec)
	if got := fullVQASpec.NumParams(); got != stats.NumParameters {
		t.Errorf("NumParams = %d, want %d", got, stats.NumParameters)
	}
	if len(sy.Names()) != len(stats.WeightChecks) {
		t.Errorf("%d synthetic tensors, stats has %d", len(sy.Names()), len(stats.WeightChecks))
	}
	buf := make([]float32, 1<<16)
	for name, want := range stats.WeightChecks {
		tt, err := sy.Tensor(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !slices.Equal(tt.Shape, want.Shape) {
			t.Errorf("%s: shape %v, want %v", name, tt.Shape, want.Shape)
		}
		var sum float64
		n := tt.NumElements()
		for start := 0; start < n; start += len(buf) {
			f := buf[:min(len(buf), n-start)]
			tt.gen(f, start)
			if start == 0 {
				for i, w := range want.First4 {
					if float64(f[i]) != w {
						t.Errorf("%s[%d] = %v, want %v", name, i, f[i], w)
					}
				}
			}
			for _, v := range f {
				sum += float64(v)
			}
		}
		if math.Abs(sum-want.Sum) > 1e-9*math.Max(1, math.Abs(want.Sum)) {
			t.Errorf("%s: sum %v, want %v", name, sum, want.Sum)
		}
	}
}

// The synthetic source streams through WriteTo and Reader the same bytes as Bytes.
func TestSyntheticStreams(t *testing.T) {
	s := fullVQASpec
	s.VocabSize, s.HiddenSize, s.IntermediateSize, s.NumHiddenLayers, s.NumLabels = 50, 16, 20, 1, 3
	sy := NewSynthetic(s)
	m, err := MapViLT(sy, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range m.Names() {
		tt, err := m.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		checkStreams(t, tt)
	}
}
