package vilt

import (
	"errors"
	"fmt"
	"math"

	"github.com/vilt-vk/vilt-vk/weights"
)

// Labels are training targets in transformers' layout, for Loss.
type Labels struct {
	// Tokens: MLM and token classification, [B, T] class ids; -100 is ignored.
	Tokens []int64
	// Classes: NLVR2, [B] class ids.
	Classes []int64
	// Targets: VQA, [B, num_labels] soft scores in [0, 1].
	Targets []float32
}

// IgnoreIndex is PyTorch CrossEntropyLoss's default ignore_index.
const IgnoreIndex = -100

// ErrNoLoss: transformers computes no loss for this head (retrieval raises there).
var ErrNoLoss = errors.New("this head has no loss in transformers")

// Loss computes the loss transformers' head computes from its logits and labels:
// cross-entropy (mean over non-ignored positions) for MLM, NLVR2 and token classification;
// binary cross-entropy with logits (mean) × num_labels for VQA.
func (m *Model) Loss(out *Outputs, labels Labels) (float64, error) {
	lg := out.Logits()
	if lg == nil {
		return 0, fmt.Errorf("loss: no logits (%s has no head)", m.Head)
	}
	n := lg.Shape[len(lg.Shape)-1]
	rows := len(lg.Data) / n
	switch m.Head {
	case weights.HeadMLM, weights.HeadTokenClassification:
		if len(labels.Tokens) != rows {
			return 0, fmt.Errorf("loss: %d token labels for %d positions", len(labels.Tokens), rows)
		}
		return crossEntropy(lg.Data, labels.Tokens, n)
	case weights.HeadNLVR2:
		if len(labels.Classes) != rows {
			return 0, fmt.Errorf("loss: %d class labels for %d examples", len(labels.Classes), rows)
		}
		return crossEntropy(lg.Data, labels.Classes, n)
	case weights.HeadVQA:
		if len(labels.Targets) != len(lg.Data) {
			return 0, fmt.Errorf("loss: %d targets for %d logits", len(labels.Targets), len(lg.Data))
		}
		var sum float64
		for i, x := range lg.Data {
			z, y := float64(x), float64(labels.Targets[i])
			// max(z,0) - z·y + log(1 + exp(-|z|)), PyTorch's stable form
			sum += math.Max(z, 0) - z*y + math.Log1p(math.Exp(-math.Abs(z)))
		}
		return sum / float64(len(lg.Data)) * float64(n), nil
	}
	return 0, fmt.Errorf("loss: %s: %w", m.Head, ErrNoLoss)
}

func crossEntropy(logits []float32, labels []int64, n int) (float64, error) {
	var sum float64
	count := 0
	for r, y := range labels {
		if y == IgnoreIndex {
			continue
		}
		if y < 0 || y >= int64(n) {
			return 0, fmt.Errorf("loss: label %d outside [0, %d)", y, n)
		}
		row := logits[r*n : (r+1)*n]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var se float64
		for _, v := range row {
			se += math.Exp(float64(v) - mx)
		}
		sum += mx + math.Log(se) - float64(row[y])
		count++
	}
	if count == 0 {
		return math.NaN(), nil // PyTorch's mean over nothing
	}
	return sum / float64(count), nil
}
