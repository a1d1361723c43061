package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/serve"
	"github.com/vilt-vk/vilt-vk/vilt"
)

// TestVQAExplainCommand: `vilt vqa --explain` on the demo model writes one overlay per
// image-question pair at the original size, whose colour at every patch centre is the
// blend of the original pixel with that patch's value (so the map sits on the right pixels),
// and --json carries the same grids.
func TestVQAExplainCommand(t *testing.T) {
	dir := "../../testdata/tiny-vilt-vqa"
	tmp := t.TempDir()
	// A second, portrait image whose resize is not a whole multiple of the patch.
	tall := image.NewRGBA(image.Rect(0, 0, 210, 330))
	for y := 0; y < 330; y++ {
		for x := 0; x < 210; x++ {
			tall.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	tallPath := filepath.Join(tmp, "tall.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, tall); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(tallPath, buf.Bytes(), 0o644)
	images := []string{filepath.Join(dir, "example.png"), tallPath}
	questions := []string{"How many cats are there?", "What color is the couch?"}
	out := filepath.Join(tmp, "out.png")
	stdout, errOut, code := runVilt(t, nil, "vqa", "--model", dir, "--image", images[0], "--image", images[1],
		"--question", questions[0], "--question", questions[1], "--explain", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var items []serve.VQAItem
	if err := json.Unmarshal([]byte(stdout), &items); err != nil || len(items) != 4 {
		t.Fatalf("want 4 items with explanations: %v\n%s", err, stdout)
	}
	proc, err := processor.LoadProcessor(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	for k, it := range items {
		i, j := k/2, k%2
		m := it.Explanation
		if m == nil || it.Image != i || it.Question != questions[j] {
			t.Fatalf("item %d: %+v", k, it)
		}
		orig, err := procDecodeFile(images[i], processor.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h, w, err := proc.Images.OutputSize(orig.Height, orig.Width)
		if err != nil {
			t.Fatal(err)
		}
		if m.Rows != h/32 || m.Cols != w/32 || m.ImageWidth != orig.Width || m.ImageHeight != orig.Height ||
			math.Abs(m.CellWidth-32*float64(orig.Width)/float64(w)) > 1e-9 || math.Abs(m.CellHeight-32*float64(orig.Height)/float64(h)) > 1e-9 {
			t.Fatalf("item %d: grid %d×%d cells %v×%v on %d×%d; resized %d×%d", k, m.Rows, m.Cols, m.CellWidth, m.CellHeight, m.ImageWidth, m.ImageHeight, w, h)
		}
		path := filepath.Join(tmp, []string{"out-0-0.png", "out-0-1.png", "out-1-0.png", "out-1-1.png"}[k])
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		pic, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if pic.Bounds() != image.Rect(0, 0, orig.Width, orig.Height) {
			t.Fatalf("%s is %v, want the original %d×%d", path, pic.Bounds(), orig.Width, orig.Height)
		}
		lo, hi := m.Range()
		checked := 0
		for r := 0; r < m.Rows; r++ {
			for c := 0; c < m.Cols; c++ {
				x, y := int((float64(c)+0.5)*m.CellWidth), int((float64(r)+0.5)*m.CellHeight) // pixel centre within half a pixel
				if y > orig.Height-70 {                                                       // the legend
					continue
				}
				// The pixel nearest the centre of cell (r, c) carries that cell's value...
				cell := float64(m.At(r, c)-lo) / float64(hi-lo)
				v, ok := m.Value(x, y, false)
				if !ok || math.Abs(v-cell) > 0.05 {
					t.Fatalf("%s: pixel (%d,%d) at the centre of cell (%d,%d) has value %v %v, the cell %v", path, x, y, r, c, v, ok, cell)
				}
				// ...and shows it: the original pixel blended with its colour.
				want := vilt.Heat(v)
				a := 0.6 * (0.2 + 0.8*v)
				src := orig.Pix[3*(y*orig.Width+x):]
				got := color.RGBAModel.Convert(pic.At(x, y)).(color.RGBA)
				for ch, g := range []uint8{got.R, got.G, got.B} {
					w := float64(src[ch])*(1-a) + float64([]uint8{want.R, want.G, want.B}[ch])*a
					if math.Abs(float64(g)-w) > 1 {
						t.Fatalf("%s: pixel (%d,%d) of cell (%d,%d) channel %d = %d, want %.1f", path, x, y, r, c, ch, g, w)
					}
				}
				checked++
			}
		}
		if checked < m.Rows*m.Cols/2 {
			t.Errorf("%s: checked %d cells only", path, checked)
		}
	}

	// One pair writes OUT itself; text output names the file.
	one := filepath.Join(tmp, "one.png")
	stdout, errOut, code = runVilt(t, nil, "vqa", "--model", dir, "--image", images[0], "--question", questions[0], "--explain", one, "--explain-method", "last-layer")
	if code != 0 || !bytes.Contains([]byte(stdout), []byte("explanation: "+one)) {
		t.Fatalf("exit %d: %s\n%s", code, stdout, errOut)
	}
	if _, err := os.Stat(one); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--explain", filepath.Join(tmp, "x.jpg")},
		{"--explain", one, "--explain-method", "saliency"},
	} {
		a := append([]string{"vqa", "--model", dir, "--image", images[0], "--question", "q"}, args...)
		if _, errOut, code := runVilt(t, nil, a...); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errOut)
		}
	}
}

// TestExplainOtherTasks: fill-mask (per mask), nlvr2 (per image) and rank (per pair) write
// their pictures under the documented names and put the grids in --json.
func TestExplainOtherTasks(t *testing.T) {
	needTaskGolden(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "e.png")
	exists := func(names ...string) {
		t.Helper()
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(tmp, n)); err != nil {
				t.Error(err)
			}
		}
	}
	model := func(m string) string { return filepath.Join(taskGolden, "models", m) }

	stdout, errOut, code := runVilt(t, nil, "fill-mask", "--model", model("tiny-vilt-p32-mlm"), "--image", taskCats,
		"--text", "a bunch of [MASK] laying on a [MASK].", "--explain", out, "--json")
	var fm vilt.FillMaskResult
	if code != 0 || json.Unmarshal([]byte(stdout), &fm) != nil || len(fm.Steps) != 2 {
		t.Fatalf("fill-mask: exit %d: %s\n%s", code, stdout, errOut)
	}
	for _, st := range fm.Steps {
		if st.Explanation == nil || st.Explanation.Query != st.Position || len(st.Explanation.Values) != st.Explanation.Rows*st.Explanation.Cols {
			t.Errorf("fill-mask step %+v: explanation %+v", st, st.Explanation)
		}
	}
	exists("e-mask0.png", "e-mask1.png")

	stdout, errOut, code = runVilt(t, nil, "nlvr2", "--model", model("tiny-vilt-p32-nlvr2"), "--image", taskCats,
		"--image", "../../testdata/tiny-vilt-vqa/example.png", "--text", "two cats", "--explain", out, "--json")
	var nl vilt.NLVR2Result
	if code != 0 || json.Unmarshal([]byte(stdout), &nl) != nil || len(nl.Explanations) != 2 {
		t.Fatalf("nlvr2: exit %d: %s\n%s", code, stdout, errOut)
	}
	if nl.Explanations[1].ImageWidth != 320 {
		t.Errorf("right image map on a %d-pixel-wide image, want 320", nl.Explanations[1].ImageWidth)
	}
	exists("e-left.png", "e-right.png")

	stdout, errOut, code = runVilt(t, nil, "rank", "--model", model("tiny-vilt-p32-retrieval"), "--images", taskCats,
		"--text", "cats", "--text", "a dog", "--explain", out)
	if code != 0 {
		t.Fatalf("rank: exit %d: %s\n%s", code, stdout, errOut)
	}
	exists("e-0-0.png", "e-0-1.png")
}
