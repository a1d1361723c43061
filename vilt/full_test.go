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
func TestFullSizeSynthetic(t *testing.T) { fullSizeSynthetic(t, PrecisionFP32, 1e-4, 0) }

// TestFullSizeSyntheticFP16: half-precision weights keep the answer (argmax 2591) and the
// logits within 5e-2 of transformers' float32 ones, in at most 240 MiB of weights.
func TestFullSizeSyntheticFP16(t *testing.T) { fullSizeSynthetic(t, PrecisionFP16, 5e-2, 240<<20) }

func fullSizeSynthetic(t *testing.T, prec Precision, tol float64, maxWeights uint64) {
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
	skipNoPrecision(t, d, prec)
	t0 := time.Now()
	d.ResetPeak()
	m, err := FromCheckpoint(context.Background(), cfg, weights.NewSynthetic(cfg.Spec()), []*gpu.Device{d}, ModelOptions{Precision: prec})
	must(t, err)
	defer m.Close()
	li := m.LoadInfo()
	t.Logf("load: %v, %s weights: %d bytes (%.1f MiB) on the device", time.Since(t0), li.Precision, li.WeightBytes, float64(li.WeightBytes)/(1<<20))
	if li.Precision != prec {
		t.Fatalf("loaded as %s, want %s", li.Precision, prec)
	}
	if info := d.Info(); prec == PrecisionFP16 && !info.Features.StorageBuffer16BitAccess &&
		info.Limits.MaxTexelBufferElements < uint64(cfg.VocabSize*cfg.HiddenSize/4) {
		// No 16-bit storage and texel views too small for the word table (SwiftShader): the
		// table stays float32, the GEMM weights are half.
		extra := uint64(cfg.VocabSize * cfg.HiddenSize * 2)
		t.Logf("word embeddings stay float32 on this device: the bar is %d MiB + %d MiB", maxWeights>>20, extra>>20)
		maxWeights += extra
	}
	if maxWeights > 0 && li.WeightBytes > maxWeights {
		t.Errorf("%d bytes of weights, want at most %d MiB", li.WeightBytes, maxWeights>>20)
	}
	in := goldenInputs(t, filepath.Join(goldenRoot, "io/inputs__case4_processor_cats384.safetensors"))
	t0 = time.Now()
	out, err := m.Forward(context.Background(), in, ForwardOptions{})
	must(t, err)
	t.Logf("forward: %v (first, includes recording)", time.Since(t0))
	golden := readSafetensors(t, filepath.Join(goldenRoot, "full/outputs.safetensors"))
	t.Logf("peak device bytes: %d (%.1f MiB)", d.MemoryStats().Peak, float64(d.MemoryStats().Peak)/(1<<20))
	_, worst := compareGoldenMax(t, out, golden, tol)
	t.Logf("%s: worst max abs diff %.3g", prec, worst)
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
