package vilt

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
	"github.com/vilt-vk/vilt-vk/weights"
)

// TestFullSizeSynthetic runs the full-size ViLT-B/32 VQA model with the integer weight rule
// of golden README §6 on the cats photo (S = 201) and compares with transformers' outputs.
func TestFullSizeSynthetic(t *testing.T) {
	needGolden(t)
	if testing.Short() {
		t.Skip("full-size model")
	}
	cfg, err := LoadConfigFile(filepath.Join(goldenRoot, "full/config.json"))
	must(t, err)
	if len(cfg.Architectures) == 0 { // the golden config was saved from a bare ViltConfig
		cfg.Architectures = []string{string(weights.HeadVQA)}
	}
	d := gputest.Device(t)
	t0 := time.Now()
	m, err := FromCheckpoint(context.Background(), cfg, weights.NewSynthetic(cfg.Spec()), []*gpu.Device{d})
	must(t, err)
	defer m.Close()
	t.Logf("load: %v, %d MB on the device", time.Since(t0), m.LoadInfo().WeightBytes>>20)
	in := goldenInputs(t, filepath.Join(goldenRoot, "io/inputs__case4_processor_cats384.safetensors"))
	t0 = time.Now()
	out, err := m.Forward(context.Background(), in, ForwardOptions{})
	must(t, err)
	t.Logf("forward: %v (first, includes recording)", time.Since(t0))
	golden := readSafetensors(t, filepath.Join(goldenRoot, "full/outputs.safetensors"))
	compareGolden(t, out, golden, 1e-4)
	if out.Logits() == nil {
		t.Fatal("no logits")
	}
	logits := out.Logits().Data
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	if best != 2591 {
		t.Errorf("argmax %d, want 2591", best)
	}
	if math.IsNaN(float64(logits[0])) {
		t.Fatal("NaN logits")
	}
}
