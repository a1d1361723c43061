package vilt

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
	"github.com/vilt-vk/vilt-vk/processor"
)

// taskPipeline loads a golden tiny model as a Pipeline on d, with the image processor's
// shortest edge set to edge (0 keeps the model's preprocessor_config.json).
func taskPipeline(t *testing.T, d *gpu.Device, model string, edge int) *Pipeline {
	t.Helper()
	p, err := Load(context.Background(), filepath.Join(goldenRoot, "models", model), LoadOptions{Devices: []*gpu.Device{d}})
	must(t, err)
	t.Cleanup(func() { p.Close() })
	if edge > 0 {
		o := p.Processor.Images.Options()
		o.ShortestEdge = edge
		ip, err := processor.NewImageProcessor(o)
		must(t, err)
		p.Processor.Images = ip
	}
	return p
}

func goldenImage(t *testing.T, name string) *processor.RGBImage {
	t.Helper()
	path := filepath.Join(goldenRoot, "images", name)
	if name == "cats.png" {
		path = filepath.Join(goldenRoot, "../vilt-data/cats.png")
	}
	b, err := os.ReadFile(path)
	must(t, err)
	img, err := processor.DecodeImageBytes(b, processor.DecodeOptions{})
	must(t, err)
	return img
}

func goldenLogits(t *testing.T, model, cse string) []float32 {
	t.Helper()
	g := readSafetensors(t, filepath.Join(goldenRoot, "io", "outputs__"+model+"__"+cse+".safetensors"))
	return f32(t, g["logits"])
}

func TestTaskVQAGolden(t *testing.T) {
	needGolden(t)
	d := gputest.Device(t)
	p := taskPipeline(t, d, "tiny-vilt-p32-vqa", 0) // case4: the default processor (384)
	cats := goldenImage(t, "cats.png")
	res, err := p.VQA(context.Background(), []*processor.RGBImage{cats}, []string{"How many cats are there?"}, 7)
	must(t, err)
	want := goldenLogits(t, "tiny-vilt-p32-vqa", "case4_processor_cats384")
	idx := []int{0, 1, 2, 3, 4, 5, 6}
	sort.SliceStable(idx, func(a, b int) bool { return want[idx[a]] > want[idx[b]] })
	if len(res) != 1 || len(res[0]) != 7 {
		t.Fatalf("got %v", res)
	}
	for r, i := range idx {
		got := res[0][r]
		if got.Answer != p.Model.Config.ID2Label[i] || math.Abs(got.Score-sigmoid(float64(want[i]))) > 1e-5 {
			t.Errorf("rank %d: got %+v, want %s %.6f", r, got, p.Model.Config.ID2Label[i], sigmoid(float64(want[i])))
		}
	}

	// Every pair, batched (different image sizes and text lengths) = each pair alone.
	imgs := []*processor.RGBImage{cats, goldenImage(t, "rgb_500x333.png"), goldenImage(t, "tall_100x1000.png")}
	qs := []string{"How many cats are there?", "what is on the couch in this picture?", "cats?"}
	tk := p.Tasks()
	tk.BatchSize = 4
	batched, err := tk.VQA(context.Background(), imgs, qs, 3)
	must(t, err)
	if len(batched) != 9 {
		t.Fatalf("%d results, want 9", len(batched))
	}
	for i, img := range imgs {
		for j, q := range qs {
			one, err := p.VQA(context.Background(), []*processor.RGBImage{img}, []string{q}, 3)
			must(t, err)
			sameAnswers(t, batched[i*len(qs)+j], one[0])
		}
	}
}

func sameAnswers(t *testing.T, a, b []Answer) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%v vs %v", a, b)
	}
	for k := range a {
		if a[k].Answer != b[k].Answer || math.Abs(a[k].Score-b[k].Score) > 1e-5 {
			t.Errorf("batched %v, alone %v", a, b)
			return
		}
	}
}

func TestTaskWrongHead(t *testing.T) {
	needGolden(t)
	d := gputest.Device(t)
	p := taskPipeline(t, d, "tiny-vilt-p32-retrieval", 0)
	_, err := p.VQA(context.Background(), []*processor.RGBImage{processor.NewRGBImage(64, 64)}, []string{"q"}, 1)
	if err == nil || !strings.Contains(err.Error(), "ViltForQuestionAnswering") {
		t.Fatalf("want a wrong-head error, got %v", err)
	}
}

func TestTaskRankGolden(t *testing.T) {
	needGolden(t)
	d := gputest.Device(t)
	p := taskPipeline(t, d, "tiny-vilt-p32-retrieval", 96)
	cats := goldenImage(t, "cats.png")
	other := goldenImage(t, "rgb_333x500.jpg")
	texts := []string{"a bunch of cats laying on a couch.", "How many cats are there?", "a dog"}
	var calls []int
	tk := p.Tasks()
	tk.BatchSize = 4
	tk.Progress = func(done, total int) { calls = append(calls, done) }
	res, err := tk.Rank(context.Background(), []*processor.RGBImage{cats, other}, texts, 2)
	must(t, err)
	if len(calls) != 2 || calls[1] != 6 {
		t.Errorf("progress calls %v, want 2 ending at 6", calls)
	}
	g2 := goldenLogits(t, "tiny-vilt-p32-retrieval", "case2_batch_padded")[0]
	g1 := goldenLogits(t, "tiny-vilt-p32-retrieval", "case1_single")[0]
	if d := math.Abs(res.Scores[0][0] - float64(g2)); d > 2e-5 {
		t.Errorf("cats × text 0: %v, golden %v", res.Scores[0][0], g2)
	}
	if d := math.Abs(res.Scores[0][1] - float64(g1)); d > 2e-5 {
		t.Errorf("cats × text 1: %v, golden %v", res.Scores[0][1], g1)
	}
	for i, r := range res.ImageToTexts {
		if len(r) != 2 || r[0].Score < r[1].Score {
			t.Errorf("image %d ranking %v", i, r)
		}
		best := 0
		for j := range texts {
			if res.Scores[i][j] > res.Scores[i][best] {
				best = j
			}
		}
		if r[0].Index != best || r[0].Label != texts[best] {
			t.Errorf("image %d: best text %d, ranking %v", i, best, r)
		}
	}
	if len(res.TextToImages) != 3 || len(res.TextToImages[0]) != 2 {
		t.Errorf("text rankings %v", res.TextToImages)
	}
}

func TestTaskNLVR2Golden(t *testing.T) {
	needGolden(t)
	d := gputest.Device(t)
	p := taskPipeline(t, d, "tiny-vilt-p32-nlvr2", 96)
	res, err := p.NLVR2(context.Background(), goldenImage(t, "cats.png"), goldenImage(t, "rgb_333x500.jpg"),
		"The left image contains twice the number of cats as the right image.")
	must(t, err)
	g := goldenLogits(t, "tiny-vilt-p32-nlvr2", "case3_nlvr2")[:2]
	want := "False"
	if g[1] > g[0] {
		want = "True"
	}
	if res.Label != want {
		t.Errorf("label %s, golden logits %v say %s", res.Label, g, want)
	}
	for i := range g {
		if math.Abs(float64(res.Logits[i]-g[i])) > 2e-5 {
			t.Errorf("logits %v, golden %v", res.Logits, g)
		}
	}
	if s := res.Scores["True"] + res.Scores["False"]; math.Abs(s-1) > 1e-9 {
		t.Errorf("scores %v do not sum to 1", res.Scores)
	}
}

func TestTaskEmbedGolden(t *testing.T) {
	needGolden(t)
	d := gputest.Device(t)
	p := taskPipeline(t, d, "tiny-vilt-p32-model", 96)
	e, err := p.Embed(context.Background(), goldenImage(t, "cats.png"), "How many cats are there?")
	must(t, err)
	g := readSafetensors(t, filepath.Join(goldenRoot, "io/outputs__tiny-vilt-p32-model__case1_single.safetensors"))
	if dd := maxDiff(e.PoolerOutput.Data, f32(t, g["pooler_output"])); dd > 2e-5 {
		t.Errorf("pooler differs by %.3g", dd)
	}
	want := f32(t, g["rowmajor.last_hidden_state"])
	if len(want) != len(e.LastHiddenState.Data) {
		t.Fatalf("last_hidden_state %v, golden %v", e.LastHiddenState.Shape, g["rowmajor.last_hidden_state"].Shape)
	}
	if dd := maxDiff(e.LastHiddenState.Data, want); dd > 2e-5 {
		t.Errorf("last_hidden_state differs by %.3g", dd)
	}
}

func TestTaskFillMask(t *testing.T) {
	needGolden(t)
	d := gputest.Device(t)
	p := taskPipeline(t, d, "tiny-vilt-p32-mlm", 96)
	cats := goldenImage(t, "cats.png")
	text := "a bunch of [MASK] laying on a [MASK]."
	res, err := p.FillMask(context.Background(), cats, text, 3)
	must(t, err)
	if len(res.Steps) != 2 || strings.Contains(res.Sequence, "[MASK]") {
		t.Fatalf("result %+v", res)
	}
	// The first step is the most confident of the two masks in one forward of the text.
	enc, err := p.Tasks().Encode(text, "")
	must(t, err)
	pix, err := p.PrepareImage(cats)
	must(t, err)
	outs, err := p.RunExamples(context.Background(), []Example{{Encoding: enc, Images: []*processor.PixelImage{pix}}})
	must(t, err)
	lg := outs[0].Logits()
	V := lg.Shape[2]
	bestP, bestPos, bestID := -1.0, 0, 0
	for pos, id := range enc.IDs {
		if enc.Tokens[pos] == "[MASK]" {
			pp, i := softmaxMax(lg.Data[pos*V : (pos+1)*V])
			if pp > bestP {
				bestP, bestPos, bestID = pp, pos, i
			}
			_ = id
		}
	}
	s0 := res.Steps[0]
	if s0.Position != bestPos || s0.Token != int64(bestID) || math.Abs(s0.Score-bestP) > 1e-9 {
		t.Errorf("step 0 %+v, want position %d token %d score %g", s0, bestPos, bestID, bestP)
	}
	for _, st := range res.Steps {
		if len(st.Candidates) != 3 || st.Candidates[0].Token != st.Token || st.Candidates[0].Score < st.Candidates[1].Score {
			t.Errorf("step %+v", st)
		}
	}
	if res.Steps[0].Mask == res.Steps[1].Mask {
		t.Errorf("both steps filled mask %d", res.Steps[0].Mask)
	}
	if _, err := p.FillMask(context.Background(), cats, "no mask here", 3); err == nil {
		t.Error("a text without [MASK] should fail")
	}
}

// TestTaskNLVR2UnequalSizes: two images with different patch counts (9 and 12 at shortest
// edge 96), golden case 3 example 1.
func TestTaskNLVR2UnequalSizes(t *testing.T) {
	needGolden(t)
	d := gputest.Device(t)
	p := taskPipeline(t, d, "tiny-vilt-p32-nlvr2", 96)
	res, err := p.NLVR2(context.Background(), goldenImage(t, "square_640x640.png"), goldenImage(t, "rgb_500x333.png"), "two cats")
	if err != nil && strings.Contains(err.Error(), "NLVR2 needs equal sizes") {
		t.Skip("the model runs NLVR2 only with equal image token counts:", err)
	}
	must(t, err)
	g := goldenLogits(t, "tiny-vilt-p32-nlvr2", "case3_nlvr2")[2:4]
	for i := range g {
		if math.Abs(float64(res.Logits[i]-g[i])) > 2e-5 {
			t.Errorf("logits %v, golden %v", res.Logits, g)
		}
	}
}
