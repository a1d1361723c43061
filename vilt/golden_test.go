package vilt

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
	"github.com/vilt-vk/vilt-vk/graph"
	"github.com/vilt-vk/vilt-vk/weights"
)

const goldenRoot = "../../shared/golden"

func needGolden(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(goldenRoot); err != nil {
		t.Skip("../shared/golden not present")
	}
}

func readSafetensors(t testing.TB, path string) map[string]*weights.Tensor {
	t.Helper()
	st, err := weights.OpenSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	out := map[string]*weights.Tensor{}
	for _, n := range st.Names() {
		x, err := st.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = x
	}
	return out
}

func f32(t testing.TB, x *weights.Tensor) []float32 {
	t.Helper()
	v, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func i64(t testing.TB, x *weights.Tensor) []int64 {
	t.Helper()
	v, err := x.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// goldenInputs reads an io/inputs__*.safetensors file.
func goldenInputs(t testing.TB, path string) *Inputs {
	t.Helper()
	ts := readSafetensors(t, path)
	ids := ts["input_ids"]
	pv := ts["pixel_values"]
	in := &Inputs{Batch: ids.Shape[0], SeqLen: ids.Shape[1], InputIDs: i64(t, ids), PixelValues: f32(t, pv)}
	if m, ok := ts["attention_mask"]; ok {
		in.AttentionMask = i64(t, m)
	}
	if m, ok := ts["token_type_ids"]; ok {
		in.TokenTypeIDs = i64(t, m)
	}
	if m, ok := ts["pixel_mask"]; ok {
		in.PixelMask = i64(t, m)
	}
	if len(pv.Shape) == 5 {
		in.NumImages, in.Height, in.Width = pv.Shape[1], pv.Shape[3], pv.Shape[4]
	} else {
		in.NumImages, in.Height, in.Width = 1, pv.Shape[2], pv.Shape[3]
	}
	return in
}

type goldenRun struct {
	Model   string         `json:"model"`
	Case    string         `json:"case"`
	File    string         `json:"file"`
	Tensors map[string]any `json:"tensors"`
}

func goldenRuns(t testing.TB) ([]goldenRun, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenRoot, "io/index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Cases map[string]struct {
			File string `json:"file"`
		} `json:"cases"`
		Runs []goldenRun `json:"runs"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for name, c := range idx.Cases {
		files[name] = c.File
	}
	return idx.Runs, files
}

// compareGolden checks every rowmajor.* tensor (and logits) of a golden output file.
func compareGolden(t *testing.T, out *Outputs, golden map[string]*weights.Tensor, tol float64) int {
	t.Helper()
	n, _ := compareGoldenMax(t, out, golden, tol)
	return n
}

// compareGoldenMax is compareGolden that also returns the largest difference it saw.
func compareGoldenMax(t *testing.T, out *Outputs, golden map[string]*weights.Tensor, tol float64) (int, float64) {
	t.Helper()
	checked, worst := 0, 0.0
	for name, g := range golden {
		var ours string
		switch {
		case strings.HasPrefix(name, "rowmajor.") && name != "rowmajor_perm":
			ours = strings.TrimPrefix(name, "rowmajor.")
		case name == "logits" || strings.HasSuffix(name, "pooler_output"):
			ours = name
		default:
			continue
		}
		got, ok := out.Tensors[ours]
		if !ok {
			t.Errorf("output %s missing (have %v)", ours, out.Names())
			continue
		}
		want := f32(t, g)
		if len(want) != len(got.Data) {
			t.Errorf("%s: %d values (shape %v), golden %d (shape %v)", ours, len(got.Data), got.Shape, len(want), g.Shape)
			continue
		}
		d := 0.0
		for i := range want {
			if math.IsNaN(float64(got.Data[i])) {
				d = math.Inf(1)
				break
			}
			d = math.Max(d, math.Abs(float64(got.Data[i])-float64(want[i])))
		}
		if d > tol {
			t.Errorf("%s: max abs diff %.3g > %.1g", ours, d, tol)
		} else {
			t.Logf("%s: max abs diff %.3g", ours, d)
		}
		worst = math.Max(worst, d)
		checked++
	}
	return checked, worst
}

// TestGoldenTinyModels: every tiny model and head, fp32 weights, within 2e-5 of transformers.
func TestGoldenTinyModels(t *testing.T) { goldenTinyModels(t, PrecisionFP32, 2e-5) }

// TestGoldenTinyModelsFP16: the same with half-precision weights, within 5e-3 of
// transformers' float32 outputs (where the device reads half weights).
func TestGoldenTinyModelsFP16(t *testing.T) { goldenTinyModels(t, PrecisionFP16, 5e-3) }

func goldenTinyModels(t *testing.T, prec Precision, tol float64) {
	needGolden(t)
	d := gputest.Device(t)
	skipNoPrecision(t, d, prec)
	runs, cases := goldenRuns(t)
	models := goldenModelCache(t)
	worst, where := 0.0, ""
	defer func() { t.Logf("%s: worst max abs diff %.3g (%s)", prec, worst, where) }()
	for _, run := range runs {
		t.Run(filepath.Base(run.Model)+"/"+run.Case, func(t *testing.T) {
			m := goldenModel(t, d, models, run.Model, prec)
			if m.LoadInfo().Precision != prec {
				t.Fatalf("loaded as %s, want %s", m.LoadInfo().Precision, prec)
			}
			in := goldenInputs(t, filepath.Join(goldenRoot, cases[run.Case]))
			golden := readSafetensors(t, filepath.Join(goldenRoot, run.File))
			_, hasHidden := golden["rowmajor.hidden_states.0"]
			_, hasHidden1 := golden["rowmajor.img0.hidden_states.0"]
			_, hasAttn := golden["rowmajor.attentions.0"]
			_, hasAttn1 := golden["rowmajor.img0.attentions.0"]
			out, err := m.Forward(context.Background(), in, ForwardOptions{
				OutputHiddenStates: hasHidden || hasHidden1, OutputAttentions: hasAttn || hasAttn1,
			})
			if err != nil {
				t.Fatal(err)
			}
			n, w := compareGoldenMax(t, out, golden, tol)
			if n == 0 {
				t.Fatal("nothing compared")
			}
			if w > worst {
				worst, where = w, filepath.Base(run.Model)+"/"+run.Case
			}
		})
	}
}

// goldenModelCache holds a test's golden models, closed when the test ends.
func goldenModelCache(t *testing.T) map[string]*Model {
	models := map[string]*Model{}
	t.Cleanup(func() {
		for _, m := range models {
			m.Close()
		}
	})
	return models
}

// goldenModel loads a golden model folder once per test (models caches it).
func goldenModel(t *testing.T, d *gpu.Device, models map[string]*Model, dir string, prec Precision) *Model {
	t.Helper()
	if m, ok := models[dir]; ok {
		return m
	}
	m, err := LoadDir(context.Background(), filepath.Join(goldenRoot, dir), []*gpu.Device{d}, ModelOptions{Precision: prec})
	if err != nil {
		t.Fatal(err)
	}
	models[dir] = m
	return m
}

// skipNoPrecision skips a test of fp16 weights on a device that cannot read them (after
// checking that loading says so clearly).
func skipNoPrecision(t *testing.T, d *gpu.Device, prec Precision) {
	t.Helper()
	if prec != PrecisionFP16 {
		return
	}
	if _, err := graph.NewKernelsPrecision(d, prec); err != nil {
		if !strings.Contains(err.Error(), "fp16") {
			t.Errorf("fp16 refused without saying so: %v", err)
		}
		t.Skipf("device cannot read half weights: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestGoldenSkipLastHiddenState: a forward that leaves last_hidden_state out (the last layer
// continues on the text rows only) gives every head's logits, pooler output and attentions
// within the fp32 bar, and no last_hidden_state.
func TestGoldenSkipLastHiddenState(t *testing.T) {
	needGolden(t)
	d := gputest.Device(t)
	runs, cases := goldenRuns(t)
	models := goldenModelCache(t)
	for _, run := range runs {
		t.Run(filepath.Base(run.Model)+"/"+run.Case, func(t *testing.T) {
			m := goldenModel(t, d, models, run.Model, PrecisionFP32)
			in := goldenInputs(t, filepath.Join(goldenRoot, cases[run.Case]))
			golden := map[string]*weights.Tensor{}
			attn := false
			for name, g := range readSafetensors(t, filepath.Join(goldenRoot, run.File)) {
				if name == "logits" || strings.HasSuffix(name, "pooler_output") || strings.Contains(name, "attentions.") {
					golden[name] = g
					attn = attn || strings.Contains(name, "attentions.")
				}
			}
			out, err := m.Forward(context.Background(), in, ForwardOptions{OutputAttentions: attn, SkipLastHiddenState: true})
			must(t, err)
			for _, name := range out.Names() {
				if strings.HasSuffix(name, "last_hidden_state") {
					t.Errorf("%s returned", name)
				}
			}
			if n := compareGolden(t, out, golden, 2e-5); n == 0 {
				t.Fatal("nothing compared")
			}
		})
	}
}
