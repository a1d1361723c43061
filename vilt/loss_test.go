package vilt

import (
	"errors"
	"math"
	"testing"

	"github.com/vilt-vk/vilt-vk/weights"
)

func TestLoss(t *testing.T) {
	logits := &Tensor{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 0, 0, 0}}
	out := &Outputs{Tensors: map[string]*Tensor{"logits": logits}}
	ce0 := -math.Log(math.Exp(3) / (math.Exp(1) + math.Exp(2) + math.Exp(3)))
	ce1 := math.Log(3)
	cases := []struct {
		head   weights.Head
		labels Labels
		want   float64
	}{
		{weights.HeadNLVR2, Labels{Classes: []int64{2, 0}}, (ce0 + ce1) / 2},
		{weights.HeadTokenClassification, Labels{Tokens: []int64{2, IgnoreIndex}}, ce0},
		{weights.HeadMLM, Labels{Tokens: []int64{IgnoreIndex, 1}}, ce1},
	}
	for _, c := range cases {
		m := &Model{Head: c.head, Config: &Config{}}
		got, err := m.Loss(out, c.labels)
		if err != nil || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: %v, %v; want %v", c.head, got, err, c.want)
		}
	}
	// VQA: BCE-with-logits mean × num_labels.
	m := &Model{Head: weights.HeadVQA, Config: &Config{}}
	tg := []float32{1, 0, 0.5, 0, 1, 0}
	var want float64
	for i, x := range logits.Data {
		p := 1 / (1 + math.Exp(-float64(x)))
		y := float64(tg[i])
		want += -(y*math.Log(p) + (1-y)*math.Log(1-p))
	}
	want = want / 6 * 3
	got, err := m.Loss(out, Labels{Targets: tg})
	if err != nil || math.Abs(got-want) > 1e-9 {
		t.Errorf("vqa: %v, %v; want %v", got, err, want)
	}
	if _, err := (&Model{Head: weights.HeadRetrieval, Config: &Config{}}).Loss(out, Labels{}); !errors.Is(err, ErrNoLoss) {
		t.Errorf("retrieval: %v", err)
	}
	if _, err := (&Model{Head: weights.HeadNLVR2, Config: &Config{}}).Loss(out, Labels{Classes: []int64{5, 0}}); err == nil {
		t.Error("label out of range accepted")
	}
}
