package vilt

import (
	"slices"
	"testing"
)

func TestPlanImagesOrderAndFillers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PatchSize = 2
	// Two 4×6-pixel images (2×3 patches): the second is padded to 2×4 pixels (1×2 patches).
	in := &Inputs{Batch: 2, NumImages: 1, Height: 4, Width: 6, PixelMask: make([]int64, 2*4*6)}
	for i := 0; i < 24; i++ {
		in.PixelMask[i] = 1
	}
	for y := 0; y < 2; y++ {
		for x := 0; x < 4; x++ {
			in.PixelMask[24+y*6+x] = 1
		}
	}
	pl, err := planImages(&cfg, in, 0, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if pl.L != 6 || pl.sizes[0] != 2 || pl.sizes[1] != 3 || pl.sizes[2] != 1 || pl.sizes[3] != 2 {
		t.Fatalf("L %d sizes %v", pl.L, pl.sizes)
	}
	if !slices.Equal(pl.tokens[0], []int{0, 1, 2, 3, 4, 5}) {
		t.Errorf("sample 0 tokens %v, want row-major", pl.tokens[0])
	}
	// Valid patches (0, 1) in row-major order, then the first padded patches as fillers.
	if !slices.Equal(pl.tokens[1], []int{0, 1, 2, 3, 4, 5}) || !slices.Equal(pl.tokenMask[1], []float32{1, 1, 0, 0, 0, 0}) {
		t.Errorf("sample 1 tokens %v mask %v", pl.tokens[1], pl.tokenMask[1])
	}
}

func TestPlanImagesMaxImageLength(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PatchSize = 2
	cfg.MaxImageLength = 4
	in := &Inputs{Batch: 1, NumImages: 1, Height: 6, Width: 6} // 3×3 = 9 valid patches
	a, err := planImages(&cfg, in, 0, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := planImages(&cfg, in, 0, 7, 0)
	c, _ := planImages(&cfg, in, 0, 8, 0)
	if a.L != 4 || len(a.tokens[0]) != 4 {
		t.Fatalf("L %d tokens %v", a.L, a.tokens[0])
	}
	if !slices.Equal(a.tokens[0], b.tokens[0]) {
		t.Error("same seed, different patches")
	}
	if !slices.IsSorted(a.tokens[0]) {
		t.Errorf("sampled patches not in row-major order: %v", a.tokens[0])
	}
	differ := !slices.Equal(a.tokens[0], c.tokens[0])
	for seed := uint64(9); seed < 20 && !differ; seed++ {
		d, _ := planImages(&cfg, in, 0, seed, 0)
		differ = !slices.Equal(a.tokens[0], d.tokens[0])
	}
	if !differ {
		t.Error("the seed does not change the sample")
	}
}

func TestInputsValidate(t *testing.T) {
	cfg := DefaultConfig()
	good := func() *Inputs {
		return &Inputs{Batch: 1, SeqLen: 2, NumImages: 1, Height: 32, Width: 32,
			InputIDs: []int64{101, 102}, PixelValues: make([]float32, 3*32*32)}
	}
	if err := good().validate(&cfg, 1); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*Inputs){
		"id out of vocab":   func(in *Inputs) { in.InputIDs[0] = 40000 },
		"negative id":       func(in *Inputs) { in.InputIDs[1] = -1 },
		"too long":          func(in *Inputs) { in.SeqLen = 41; in.InputIDs = make([]int64, 41) },
		"short pixels":      func(in *Inputs) { in.PixelValues = in.PixelValues[:10] },
		"image below patch": func(in *Inputs) { in.Height = 16; in.PixelValues = make([]float32, 3*16*32) },
		"token type range":  func(in *Inputs) { in.TokenTypeIDs = []int64{0, 5} },
		"mask length":       func(in *Inputs) { in.AttentionMask = []int64{1} },
		"empty batch":       func(in *Inputs) { in.Batch = 0 },
	}
	for name, mut := range cases {
		in := good()
		mut(in)
		if err := in.validate(&cfg, 1); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	in := good()
	in.PixelMask = make([]int64, 32*32) // all zero: no valid patch
	if _, err := planImages(&cfg, in, 0, 0, 0); err == nil {
		t.Error("empty pixel mask accepted")
	}
}
