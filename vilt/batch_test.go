package vilt

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
)

// sliceExample cuts example b out of a batch, trimming text padding and image padding, as a
// caller would pass it alone.
func sliceExample(in *Inputs, b int) *Inputs {
	T := in.SeqLen
	t := T
	if in.AttentionMask != nil {
		for t = 0; t < T && in.AttentionMask[b*T+t] != 0; t++ {
		}
	}
	h, w := in.Height, in.Width
	if in.PixelMask != nil {
		pm := in.PixelMask[b*in.Height*in.Width : (b+1)*in.Height*in.Width]
		for h = 0; h < in.Height && pm[h*in.Width] != 0; h++ {
		}
		for w = 0; w < in.Width && pm[w] != 0; w++ {
		}
	}
	out := &Inputs{Batch: 1, SeqLen: t, NumImages: 1, Height: h, Width: w}
	out.InputIDs = append([]int64(nil), in.InputIDs[b*T:b*T+t]...)
	if in.TokenTypeIDs != nil {
		out.TokenTypeIDs = append([]int64(nil), in.TokenTypeIDs[b*T:b*T+t]...)
	}
	C := len(in.PixelValues) / (in.Batch * in.Height * in.Width)
	for c := 0; c < C; c++ {
		for y := 0; y < h; y++ {
			o := ((b*C+c)*in.Height + y) * in.Width
			out.PixelValues = append(out.PixelValues, in.PixelValues[o:o+w]...)
		}
	}
	return out
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestBatchEqualsSingle: examples with different text lengths and image sizes in one forward
// give the same logits, pooler and valid hidden rows as each run alone.
func TestBatchEqualsSingle(t *testing.T) {
	needGolden(t)
	d := gputest.Device(t)
	m, err := LoadDir(context.Background(), filepath.Join(goldenRoot, "models/tiny-vilt-p32-vqa"), []*gpu.Device{d})
	must(t, err)
	defer m.Close()
	in := goldenInputs(t, filepath.Join(goldenRoot, "io/inputs__case2_batch_padded.safetensors"))
	batch, err := m.Forward(context.Background(), in, ForwardOptions{})
	must(t, err)
	H := m.Config.HiddenSize
	for b := 0; b < in.Batch; b++ {
		one := sliceExample(in, b)
		if b == 1 && (one.SeqLen == in.SeqLen || one.Height == in.Height) {
			t.Fatalf("example 1 should be shorter and smaller than the batch: %d tokens %dx%d", one.SeqLen, one.Height, one.Width)
		}
		single, err := m.Forward(context.Background(), one, ForwardOptions{})
		must(t, err)
		nl := single.Logits().Shape[1]
		if dd := maxDiff(batch.Logits().Data[b*nl:(b+1)*nl], single.Logits().Data); dd > 1e-5 {
			t.Errorf("example %d: logits differ by %.3g", b, dd)
		}
		if dd := maxDiff(batch.Tensors["pooler_output"].Data[b*H:(b+1)*H], single.Tensors["pooler_output"].Data); dd > 1e-5 {
			t.Errorf("example %d: pooler differs by %.3g", b, dd)
		}
		// Valid rows: text tokens, the image CLS and the valid patches (same row-major order).
		bs, ss := batch.SeqLen, single.SeqLen
		bl := batch.Tensors["last_hidden_state"].Data[b*bs*H : (b+1)*bs*H]
		sl := single.Tensors["last_hidden_state"].Data
		for tkn := 0; tkn < one.SeqLen; tkn++ {
			if dd := maxDiff(bl[tkn*H:(tkn+1)*H], sl[tkn*H:(tkn+1)*H]); dd > 1e-5 {
				t.Fatalf("example %d text row %d differs by %.3g", b, tkn, dd)
			}
		}
		valid := 0
		for _, v := range single.ImageTokenMask[0][1:] {
			valid += int(v)
		}
		for j := 0; j <= valid; j++ { // CLS + valid patches
			brow, srow := in.SeqLen+j, one.SeqLen+j
			if dd := maxDiff(bl[brow*H:(brow+1)*H], sl[srow*H:(srow+1)*H]); dd > 1e-5 {
				t.Fatalf("example %d image row %d differs by %.3g", b, j, dd)
			}
		}
		_ = ss
	}
}

// TestTwoDevices splits a batch across two logical devices and compares with one device.
func TestTwoDevices(t *testing.T) {
	needGolden(t)
	inst := gputest.Instance(t)
	d1, err := inst.OpenDevice(0, gpu.DeviceOptions{})
	must(t, err)
	d2, err := inst.OpenDevice(0, gpu.DeviceOptions{})
	must(t, err)
	dir := filepath.Join(goldenRoot, "models/tiny-vilt-p32-vqa")
	one, err := LoadDir(context.Background(), dir, []*gpu.Device{d1})
	must(t, err)
	defer one.Close()
	two, err := LoadDir(context.Background(), dir, []*gpu.Device{d1, d2})
	must(t, err)
	defer two.Close()
	in := goldenInputs(t, filepath.Join(goldenRoot, "io/inputs__case2_batch_padded.safetensors"))
	a, err := one.Forward(context.Background(), in, ForwardOptions{OutputHiddenStates: true})
	must(t, err)
	b, err := two.Forward(context.Background(), in, ForwardOptions{OutputHiddenStates: true})
	must(t, err)
	// With max_image_length the sampled patches must not depend on how the batch is split.
	one.Config.MaxImageLength, two.Config.MaxImageLength = 4, 4
	sa, err := one.Forward(context.Background(), in, ForwardOptions{Seed: 3})
	must(t, err)
	sb, err := two.Forward(context.Background(), in, ForwardOptions{Seed: 3})
	must(t, err)
	if sa.ImageTokens != 4 {
		t.Fatalf("max_image_length 4 gave %d image tokens", sa.ImageTokens)
	}
	if dd := maxDiff(sa.Logits().Data, sb.Logits().Data); dd > 1e-6 {
		t.Errorf("sampled patches: two devices differ from one by %.3g", dd)
	}
	one.Config.MaxImageLength, two.Config.MaxImageLength = -1, -1
	for _, name := range a.Names() {
		at, bt := a.Tensors[name], b.Tensors[name]
		if bt == nil || len(at.Data) != len(bt.Data) {
			t.Fatalf("%s: shapes %v vs %v", name, at.Shape, bt)
		}
		if dd := maxDiff(at.Data, bt.Data); dd > 1e-6 {
			t.Errorf("%s: two devices differ from one by %.3g", name, dd)
		}
	}
}
