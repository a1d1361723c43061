package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const procShared = "../../../shared"

type procSTEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// procReadST reads a safetensors file into name → (entry, bytes).
func procReadST(t *testing.T, path string) (map[string]procSTEntry, map[string][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	ents, data := map[string]procSTEntry{}, map[string][]byte{}
	for k, raw := range hdr {
		if k == "__metadata__" {
			continue
		}
		var e procSTEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		ents[k] = e
		data[k] = b[8+n+uint64(e.DataOffsets[0]) : 8+n+uint64(e.DataOffsets[1])]
	}
	return ents, data
}

// TestPreprocessCommandMatchesGolden: the CLI reproduces io/inputs__case1,
// case3 (NLVR2, with a JPEG) and case4 byte for byte.
func TestPreprocessCommandMatchesGolden(t *testing.T) {
	procNeedModel(t)
	cats := filepath.Join(procShared, "vilt-data/cats.png")
	img := func(n string) string { return filepath.Join(procShared, "golden/images", n) }
	q := []string{"--image", cats, "--text", "How many cats are there?"}
	cases := []struct {
		golden string
		args   []string
	}{
		{"case4_processor_cats384", q},
		{"case1_single", append([]string{"--shortest-edge", "96"}, q...)},
		{"case3_nlvr2", []string{"--shortest-edge", "96", "--images-per-text", "2",
			"--image", cats, "--image", img("rgb_333x500.jpg"), "--image", img("square_640x640.png"), "--image", img("rgb_500x333.png"),
			"--text", "The left image contains twice the number of cats as the right image.", "--text", "two cats"}},
	}
	for _, c := range cases {
		out := filepath.Join(t.TempDir(), "out.safetensors")
		args := append([]string{"preprocess", "--model", procModelDir, "--output", out}, c.args...)
		var stdout, errb bytes.Buffer
		if code := run(args, &stdout, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", c.golden, code, errb.String())
		}
		gotE, gotD := procReadST(t, out)
		wantE, wantD := procReadST(t, filepath.Join(procShared, "golden/io/inputs__"+c.golden+".safetensors"))
		if len(gotE) != len(wantE) {
			t.Fatalf("%s: %d tensors, want %d", c.golden, len(gotE), len(wantE))
		}
		for name, we := range wantE {
			ge := gotE[name]
			if ge.DType != we.DType || !reflect.DeepEqual(ge.Shape, we.Shape) || !bytes.Equal(gotD[name], wantD[name]) {
				t.Errorf("%s: %s: got %s%v want %s%v (bytes equal %v)", c.golden, name, ge.DType, ge.Shape, we.DType, we.Shape, bytes.Equal(gotD[name], wantD[name]))
			}
		}
	}
}

// TestPreprocessCommandNLVR2 checks the [B,2,3,H,W] layout and the option flags.
func TestPreprocessCommandNLVR2(t *testing.T) {
	procNeedModel(t)
	img := func(n string) string { return filepath.Join(procShared, "golden/images", n) }
	out := filepath.Join(t.TempDir(), "nlvr2.safetensors")
	args := []string{"preprocess", "--model", procModelDir, "--images-per-text", "2",
		"--image", img("square_640x640.png"), "--image", img("rgb_500x333.png"),
		"--image", filepath.Join(procShared, "vilt-data/cats.png"), "--image", img("gray_L_64x48.png"),
		"--text", "left has more", "--text", "two cats", "--text-pair", "a", "--text-pair", "b",
		"--shortest-edge", "64", "--size-divisor", "32", "--padding", "max_length", "--max-length", "12",
		"--output", out}
	var stdout, errb bytes.Buffer
	if code := run(args, &stdout, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	ents, data := procReadST(t, out)
	want := map[string][]int{
		"input_ids": {2, 12}, "attention_mask": {2, 12}, "token_type_ids": {2, 12},
		"pixel_values": {2, 2, 3, 64, 96}, "pixel_mask": {2, 2, 64, 96},
	}
	for name, shape := range want {
		if !reflect.DeepEqual(ents[name].Shape, shape) {
			t.Errorf("%s shape %v want %v", name, ents[name].Shape, shape)
		}
	}
	if len(data["pixel_values"]) != 2*2*3*64*96*4 {
		t.Errorf("pixel_values has %d bytes", len(data["pixel_values"]))
	}

	// --no-pad with different sizes fails; usage errors give exit code 2.
	bad := [][]string{
		{"preprocess", "--model", procModelDir, "--image", img("square_640x640.png"), "--text", "x"}, // no --output
		{"preprocess", "--model", procModelDir, "--image", img("square_640x640.png"), "--text", "x", "--text", "y", "--output", out},
		{"preprocess", "--model", procModelDir, "--image", img("square_640x640.png"), "--text", "x", "--output", out, "--image-mean", "1,2"},
	}
	for _, a := range bad {
		if code := run(a, &stdout, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", a, code)
		}
	}
	fail := [][]string{
		{"preprocess", "--model", procModelDir, "--image", img("extreme_2000x10.png"), "--text", "x", "--output", out},
		{"preprocess", "--model", procModelDir, "--image", img("index.json"), "--text", "x", "--output", out},
		{"preprocess", "--model", procModelDir, "--image", img("square_640x640.png"), "--text", "x", "--output", out, "--max-pixels", "1000"},
		{"preprocess", "--model", procModelDir, "--image", img("square_640x640.png"), "--image", img("rgb_500x333.png"),
			"--text", "x", "--text", "y", "--output", out, "--no-pad"},
	}
	for _, a := range fail {
		if code := run(a, &stdout, &errb); code != 1 {
			t.Errorf("%q: exit %d, want 1", a[len(a)-3:], code)
		}
	}
}
