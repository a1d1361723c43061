package vilt

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
	"github.com/vilt-vk/vilt-vk/processor"
)

// attnLayer is a [heads, S, S] attention where every row attends to itself, with rows
// overridden per head.
func attnLayer(heads, S int, rows map[[2]int][]float32) []float32 {
	a := make([]float32, heads*S*S)
	for h := 0; h < heads; h++ {
		for i := 0; i < S; i++ {
			if r, ok := rows[[2]int{h, i}]; ok {
				copy(a[(h*S+i)*S:], r)
			} else {
				a[(h*S+i)*S+i] = 1
			}
		}
	}
	return a
}

func oneHot(S, j int) []float32 {
	r := make([]float32, S)
	r[j] = 1
	return r
}

// TestExplainPatchMap: a batch of two images where the first is padded to the second's size
// (a pixel mask of 2×3 of the 3×4 patches), and attention patterns whose rollout is known,
// give maps with the mass on the right patches, nothing on the padding, and cells placed on
// the original image.
func TestExplainPatchMap(t *testing.T) {
	cfg := &Config{PatchSize: 32}
	const P, H, W, T = 32, 96, 128, 3
	in := &Inputs{Batch: 2, NumImages: 1, Height: H, Width: W, PixelMask: make([]int64, 2*H*W)}
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			if y < 64 && x < 96 { // image 0: 64×96 resized pixels
				in.PixelMask[y*W+x] = 1
			}
			in.PixelMask[H*W+y*W+x] = 1 // image 1 fills the batch
		}
	}
	pl, err := planImages(cfg, in, 0, 0, 0)
	must(t, err)
	L := pl.L
	if L != 12 {
		t.Fatalf("L = %d, want 12", L)
	}
	S := T + 1 + L
	patches := make([]int32, L)
	mask := make([]int64, 1+L)
	mask[0] = 1
	for j, p := range pl.tokens[0] {
		patches[j] = int32(p)
		mask[1+j] = int64(pl.tokenMask[0][j])
	}
	// Image token j of example 0 sits at sequence position T+1+j; the valid patches are
	// (0,0) (0,1) (0,2) (1,0) (1,1) (1,2) in row-major order, then six fillers.
	tok := func(j int) int { return T + 1 + j }
	geom := imageGeometry{patch: P, resizedW: 96, resizedH: 64, originalW: 150, originalH: 100,
		gridRows: 3, gridCols: 4, tokenStart: T + 1, patches: patches, tokenMask: mask}

	// Layer 1 (last): [CLS] attends to text token 1 (head 0) and half to image token 4 =
	// patch (1,1), half to filler token 8 (head 1). Layer 0: text token 1 attends to image
	// token 2 = patch (0,2).
	half := make([]float32, S)
	half[tok(4)], half[tok(8)] = 0.5, 0.5
	layer1 := attnLayer(2, S, map[[2]int][]float32{{0, 0}: oneHot(S, 1), {1, 0}: half})
	layer0 := attnLayer(2, S, map[[2]int][]float32{{0, 1}: oneHot(S, tok(2)), {1, 1}: oneHot(S, tok(2))})
	layers := [][]float32{layer0, layer1}

	cases := []struct {
		method ExplainMethod
		want   map[[2]int]float32 // other cells 0
	}{
		// Last layer, heads averaged: 0.25 on token 4 (and 0.25 on the filler, dropped).
		{ExplainLastLayer, map[[2]int]float32{{1, 1}: 0.25}},
		// Rollout: e0·A'1 = 0.5 e0 + 0.25 e1 + 0.125 (e_tok4 + e_tok8); then ·A'0, where row
		// 1 becomes 0.5 e1 + 0.5 e_tok2: e_tok2 gets 0.125, e_tok4 keeps 0.125.
		{ExplainRollout, map[[2]int]float32{{1, 1}: 0.125, {0, 2}: 0.125}},
	}
	for _, c := range cases {
		t.Run(c.method.String(), func(t *testing.T) {
			row, err := Rollout(layers, 2, S, 0, c.method)
			must(t, err)
			g := geom
			g.method = c.method
			m, err := patchMap(row, g)
			must(t, err)
			if m.Rows != 2 || m.Cols != 3 {
				t.Fatalf("grid %d×%d, want the image's own 2×3 (padding excluded)", m.Rows, m.Cols)
			}
			if m.CellWidth != 50 || m.CellHeight != 50 || m.X != 0 || m.Y != 0 {
				t.Errorf("placement x=%v y=%v cell %v×%v, want 0 0 50×50 (32 px at scale 150/96, 100/64)", m.X, m.Y, m.CellWidth, m.CellHeight)
			}
			for r := 0; r < m.Rows; r++ {
				for col := 0; col < m.Cols; col++ {
					if got, want := m.At(r, col), c.want[[2]int{r, col}]; math.Abs(float64(got-want)) > 1e-6 {
						t.Errorf("cell (%d,%d) = %v, want %v", r, col, got, want)
					}
				}
			}
			// Pixel (75, 75) is in cell (1,1), the peak; pixel 151 is past the image's 3
			// columns of 50 pixels: no patch.
			if v, ok := m.Value(75, 75, true); !ok || v != 1 {
				t.Errorf("Value(75,75) = %v %v, want 1 true", v, ok)
			}
			if _, ok := m.Value(151, 10, true); ok {
				t.Error("pixel 151 is outside the 150-pixel image's grid but has a value")
			}
		})
	}

	// The rollout of a row-stochastic attention stays a distribution.
	row, err := Rollout(layers, 2, S, 5, ExplainRollout)
	must(t, err)
	sum := 0.0
	for _, v := range row {
		sum += v
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("rollout row sums to %v, want 1", sum)
	}
	if _, err := Rollout(layers, 2, S, S, ExplainRollout); err == nil {
		t.Error("query past the sequence accepted")
	}
	if _, err := Rollout([][]float32{layer0[:10]}, 2, S, 0, ExplainRollout); err == nil {
		t.Error("short layer accepted")
	}
	// A map whose values do not fill its grid draws nothing instead of failing.
	broken := &PatchMap{Rows: 2, Cols: 3, Values: []float32{1}, CellWidth: 10, CellHeight: 10}
	img := processor.NewRGBImage(30, 20)
	if out := Overlay(img, broken, RenderOptions{}); out.RGBAAt(5, 5) != ToImage(img).RGBAAt(5, 5) {
		t.Error("a broken map changed the picture")
	}
}

// TestExplainDemoModel runs Explain on the shipped demo model and renders the overlay.
func TestExplainDemoModel(t *testing.T) {
	d := gputest.Device(t)
	ctx := context.Background()
	p, err := Load(ctx, "../testdata/tiny-vilt-vqa", LoadOptions{Devices: []*gpu.Device{d}})
	must(t, err)
	defer p.Close()
	b, err := os.ReadFile("../testdata/tiny-vilt-vqa/example.png")
	must(t, err)
	img, err := processor.DecodeImageBytes(b, processor.DecodeOptions{})
	must(t, err)
	tasks := p.Tasks()
	for _, method := range []ExplainMethod{ExplainRollout, ExplainLastLayer} {
		maps, err := tasks.Explain(ctx, []*processor.RGBImage{img}, "How many cats are there?", ExplainOptions{Method: method})
		must(t, err)
		m := maps[0]
		// 320×240 resizes to 512×384: a 16×12 grid of 32-pixel patches, 20 original pixels each.
		if m.Rows != 12 || m.Cols != 16 || m.CellWidth != 20 || m.CellHeight != 20 || m.ImageWidth != 320 || m.ImageHeight != 240 {
			t.Fatalf("%v: map %d×%d cells %v×%v on %d×%d", method, m.Rows, m.Cols, m.CellWidth, m.CellHeight, m.ImageWidth, m.ImageHeight)
		}
		sum := 0.0
		for _, v := range m.Values {
			if v < 0 || math.IsNaN(float64(v)) {
				t.Fatalf("%v: value %v", method, v)
			}
			sum += float64(v)
		}
		if sum <= 0 || sum > 1+1e-4 {
			t.Errorf("%v: image patches hold %v of the attention, want (0, 1]", method, sum)
		}
		out := Overlay(img, m, RenderOptions{Legend: []string{"answer: x (0.50)"}})
		if out.Bounds().Dx() != 320 || out.Bounds().Dy() != 240 {
			t.Fatalf("overlay %v, want the original 320×240", out.Bounds())
		}
		if out.RGBAAt(300, 10) == ToImage(img).RGBAAt(300, 10) {
			t.Error("overlay left a covered pixel unchanged")
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Explain(ctx, []*processor.RGBImage{img}, processor.Encoding{IDs: []int64{1, 2}}, 5, ExplainOptions{}); err == nil {
		t.Error("query past the text accepted")
	}
}

// TestExplainNLVR2Padding: NLVR2's two images of different shapes are padded to one size;
// each map covers its own image only, placed on its original pixels.
func TestExplainNLVR2Padding(t *testing.T) {
	if _, err := os.Stat(filepath.Join(goldenRoot, "models")); err != nil {
		t.Skip("golden models not present")
	}
	d := gputest.Device(t)
	p := taskPipeline(t, d, "tiny-vilt-p32-nlvr2", 64)
	wide, tall := processor.NewRGBImage(200, 100), processor.NewRGBImage(100, 150)
	for i := range wide.Pix {
		wide.Pix[i] = uint8(i * 7)
	}
	for i := range tall.Pix {
		tall.Pix[i] = uint8(i * 3)
	}
	maps, err := p.Tasks().Explain(context.Background(), []*processor.RGBImage{wide, tall}, "the left image is wider.", ExplainOptions{})
	must(t, err)
	for i, img := range []*processor.RGBImage{wide, tall} {
		h, w, err := p.Processor.Images.OutputSize(img.Height, img.Width)
		must(t, err)
		m := maps[i]
		rows, cols := h/32, w/32
		cw, ch := 32*float64(img.Width)/float64(w), 32*float64(img.Height)/float64(h)
		if m.Rows != rows || m.Cols != cols || math.Abs(m.CellWidth-cw) > 1e-9 || math.Abs(m.CellHeight-ch) > 1e-9 {
			t.Errorf("image %d: %d×%d cells %v×%v, want %d×%d cells %v×%v", i, m.Rows, m.Cols, m.CellWidth, m.CellHeight, rows, cols, cw, ch)
		}
		if i == 0 && rows*cols == 0 {
			t.Fatal("test images too small")
		}
	}
	if maps[0].Rows == maps[1].Rows && maps[0].Cols == maps[1].Cols {
		t.Fatal("the two images should have different grids (one is padded)")
	}
}

// BenchmarkRollout is the host side of one explanation at ViLT-B/32 size: 12 layers of
// 12 heads over 201 tokens (the forward with attentions is measured by vilt bench --attentions).
func BenchmarkRollout(b *testing.B) {
	const layers, heads, S = 12, 12, 201
	attn := make([][]float32, layers)
	for l := range attn {
		attn[l] = make([]float32, heads*S*S)
		for i := range attn[l] {
			attn[l][i] = 1.0 / S
		}
	}
	for b.Loop() {
		if _, err := Rollout(attn, heads, S, 0, ExplainRollout); err != nil {
			b.Fatal(err)
		}
	}
}
