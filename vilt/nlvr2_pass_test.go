package vilt

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
	"github.com/vilt-vk/vilt-vk/weights"
)

// withoutHead hides a checkpoint's head keys, so that a head checkpoint loads as the bare
// ViltModel (transformers' model.vilt).
type withoutHead struct{ weights.Checkpoint }

func (c withoutHead) Names() []string {
	var out []string
	for _, n := range c.Checkpoint.Names() {
		if !strings.HasPrefix(n, "classifier.") {
			out = append(out, n)
		}
	}
	return out
}

// nlvr2UnequalInputs is a batch of two pairs on a 128×128 canvas (4×4 patches of 32) whose
// images have different valid sizes, given as (rows, cols) of patches per [example][image].
func nlvr2UnequalInputs(cfg *Config, sizes [][2][2]int) *Inputs {
	const px, T = 128, 6
	B, N, C := len(sizes), 2, cfg.NumChannels
	in := &Inputs{Batch: B, SeqLen: T, NumImages: N, Height: px, Width: px,
		InputIDs: make([]int64, B*T), AttentionMask: make([]int64, B*T),
		PixelValues: make([]float32, B*N*C*px*px), PixelMask: make([]int64, B*N*px*px)}
	rng := rand.New(rand.NewPCG(7, 11))
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			in.InputIDs[b*T+t] = int64(1000 + rng.IntN(2000))
			if t < T-b { // example 1 has one padded text token
				in.AttentionMask[b*T+t] = 1
			}
		}
		for img := 0; img < N; img++ {
			h, w := sizes[b][img][0]*32, sizes[b][img][1]*32
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					in.PixelMask[((b*N+img)*px+y)*px+x] = 1
					for c := 0; c < C; c++ {
						in.PixelValues[(((b*N+img)*C+c)*px+y)*px+x] = rng.Float32()*2 - 1
					}
				}
			}
		}
	}
	return in
}

// onePass is image pass img of an NLVR2 batch as a ViltModel batch (NumImages 1).
func onePass(in *Inputs, img int) *Inputs {
	N, hw := in.NumImages, in.Height*in.Width
	C := len(in.PixelValues) / (in.Batch * N * hw)
	p := *in
	p.NumImages = 1
	p.PixelValues, p.PixelMask = nil, nil
	for b := 0; b < in.Batch; b++ {
		o := b*N + img
		p.PixelValues = append(p.PixelValues, in.PixelValues[o*C*hw:(o+1)*C*hw]...)
		p.PixelMask = append(p.PixelMask, in.PixelMask[o*hw:(o+1)*hw]...)
	}
	return &p
}

// TestNLVR2PassShapes: pairs whose images have different sizes give each image pass the
// sequence length transformers gives it (the largest valid-patch count among the batch's
// i-th images, capped by max_image_length), and each pass's tensors equal a ViltModel
// forward of that pass alone with image_token_type_idx i+1.
func TestNLVR2PassShapes(t *testing.T) {
	needGolden(t)
	d := gputest.Device(t)
	dir := filepath.Join(goldenRoot, "models/tiny-vilt-p32-nlvr2")
	nlvr2, err := LoadDir(context.Background(), dir, []*gpu.Device{d})
	must(t, err)
	defer nlvr2.Close()
	cfg, err := LoadConfigFile(filepath.Join(dir, "config.json"))
	must(t, err)
	cfg.Architectures = []string{string(weights.HeadNone)}
	ck, err := weights.OpenDir(dir)
	must(t, err)
	defer ck.Close()
	backbone, err := FromCheckpoint(context.Background(), cfg, withoutHead{ck}, []*gpu.Device{d})
	must(t, err)
	defer backbone.Close()

	// (rows, cols) of valid patches: pass 0 has at most 3×3 = 9, pass 1 4×4 = 16.
	sizes := [][2][2]int{{{3, 3}, {4, 4}}, {{2, 3}, {3, 2}}}
	for _, tc := range []struct {
		maxLen int
		wantL  []int
	}{{-1, []int{9, 16}}, {10, []int{9, 10}}} {
		t.Run(fmt.Sprintf("max_image_length=%d", tc.maxLen), func(t *testing.T) {
			nlvr2.Config.MaxImageLength, backbone.Config.MaxImageLength = tc.maxLen, tc.maxLen
			defer func() { nlvr2.Config.MaxImageLength, backbone.Config.MaxImageLength = -1, -1 }()
			in := nlvr2UnequalInputs(nlvr2.Config, sizes)
			opts := ForwardOptions{OutputHiddenStates: true, OutputAttentions: true, Seed: 5}
			out, err := nlvr2.Forward(context.Background(), in, opts)
			must(t, err)
			if !slices.Equal(out.PassImageTokens, tc.wantL) {
				t.Fatalf("image tokens per pass %v, want %v", out.PassImageTokens, tc.wantL)
			}
			B, T, H, heads := in.Batch, in.SeqLen, cfg.HiddenSize, cfg.NumAttentionHeads
			for img, L := range tc.wantL {
				S := T + 1 + L
				pfx := fmt.Sprintf("img%d.", img)
				popts := opts
				popts.ImageTokenTypeIdx = img + 1
				alone, err := backbone.Forward(context.Background(), onePass(in, img), popts)
				must(t, err)
				if alone.ImageTokens != L {
					t.Fatalf("pass %d alone: %d image tokens, want %d", img, alone.ImageTokens, L)
				}
				if got := len(out.ImageTokenMask[img]); got != B*(1+L) {
					t.Errorf("%simage token mask has %d values, want %d×%d", pfx, got, B, 1+L)
				} else if !slices.Equal(out.ImageTokenMask[img], alone.ImageTokenMask[0]) {
					t.Errorf("%simage token mask %v, alone %v", pfx, out.ImageTokenMask[img], alone.ImageTokenMask[0])
				}
				checked := 0
				for _, name := range alone.Names() {
					want := []int{B, S, H}
					switch {
					case strings.HasPrefix(name, "attentions."):
						want = []int{B, heads, S, S}
					case name == "pooler_output":
						want = []int{B, H}
					}
					a, got := alone.Tensors[name], out.Tensors[pfx+name]
					if got == nil {
						t.Errorf("%s%s missing", pfx, name)
						continue
					}
					if !slices.Equal(a.Shape, want) || !slices.Equal(got.Shape, want) {
						t.Errorf("%s%s: shape %v, alone %v, want %v", pfx, name, got.Shape, a.Shape, want)
						continue
					}
					if dd := maxDiff(got.Data, a.Data); dd > 1e-5 {
						t.Errorf("%s%s differs from the pass alone by %.3g", pfx, name, dd)
					}
					checked++
				}
				if want := 2*cfg.NumHiddenLayers + 3; checked != want {
					t.Errorf("pass %d: compared %d tensors, want %d", img, checked, want)
				}
			}
		})
	}
}
