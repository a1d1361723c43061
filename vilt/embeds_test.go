package vilt

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
	"github.com/vilt-vk/vilt-vk/weights"
)

// TestInputsAndImageEmbeds: passing the word embeddings as inputs_embeds, or the visual
// embedding as image_embeds, gives the same outputs as ids and pixels.
func TestInputsAndImageEmbeds(t *testing.T) {
	needGolden(t)
	d := gputest.Device(t)
	dir := filepath.Join(goldenRoot, "models/tiny-vilt-p32-vqa")
	m, err := LoadDir(context.Background(), dir, []*gpu.Device{d})
	must(t, err)
	defer m.Close()
	in := goldenInputs(t, filepath.Join(goldenRoot, "io/inputs__case2_batch_padded.safetensors"))
	ref, err := m.Forward(context.Background(), in, ForwardOptions{OutputHiddenStates: true})
	must(t, err)

	ck, err := weights.OpenDir(dir)
	must(t, err)
	defer ck.Close()
	table := func(name string) []float32 {
		x, err := ck.Tensor(name)
		must(t, err)
		v, err := x.Float32s()
		must(t, err)
		return v
	}
	H := m.Config.HiddenSize
	word := table("vilt.embeddings.text_embeddings.word_embeddings.weight")
	modality := table("vilt.embeddings.token_type_embeddings.weight")

	te := *in
	te.InputIDs = nil
	for _, id := range in.InputIDs {
		te.InputsEmbeds = append(te.InputsEmbeds, word[int(id)*H:int(id+1)*H]...)
	}
	got, err := m.Forward(context.Background(), &te, ForwardOptions{})
	must(t, err)
	if dd := maxDiff(got.Logits().Data, ref.Logits().Data); dd > 1e-6 {
		t.Errorf("inputs_embeds: logits differ by %.3g", dd)
	}

	// image_embeds: the image part of hidden_states.0 minus the modality row.
	B, T, S, L := in.Batch, in.SeqLen, ref.SeqLen, ref.ImageTokens
	h0 := ref.Tensors["hidden_states.0"].Data
	ie := *in
	ie.PixelValues, ie.PixelMask = nil, nil
	ie.ImageTokens = L
	ie.ImageMask = ref.ImageTokenMask[0]
	for b := 0; b < B; b++ {
		for j := 0; j < 1+L; j++ {
			row := h0[(b*S+T+j)*H : (b*S+T+j+1)*H]
			for i := range row {
				ie.ImageEmbeds = append(ie.ImageEmbeds, row[i]-modality[H+i])
			}
		}
	}
	got, err = m.Forward(context.Background(), &ie, ForwardOptions{})
	must(t, err)
	if dd := maxDiff(got.Logits().Data, ref.Logits().Data); dd > 1e-5 {
		t.Errorf("image_embeds: logits differ by %.3g", dd)
	}
}
