package main

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/vilt-vk/vilt-vk/weights"
)

const sharedGolden = "../../../shared/golden"

// TestForwardCLIMatchesGolden runs `vilt forward` on the NLVR2 golden case and compares the
// written file with transformers' outputs.
func TestForwardCLIMatchesGolden(t *testing.T) {
	if _, err := os.Stat(sharedGolden); err != nil {
		t.Skip("../shared/golden not present")
	}
	out := filepath.Join(t.TempDir(), "out.safetensors")
	_, stderr, code := runVilt(t, []string{"VILT_VK_VALIDATE=1"}, "forward",
		"--model", filepath.Join(sharedGolden, "models/tiny-vilt-p32-nlvr2"),
		"--inputs", filepath.Join(sharedGolden, "io/inputs__case3_nlvr2.safetensors"),
		"--output", out, "--hidden-states")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, err := weights.OpenSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	want, err := weights.OpenSafetensors(filepath.Join(sharedGolden, "io/outputs__tiny-vilt-p32-nlvr2__case3_nlvr2.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	for _, pair := range [][2]string{{"logits", "logits"}, {"img1.hidden_states.2", "rowmajor.img1.hidden_states.2"}, {"img0.hidden_states.0", "rowmajor.img0.hidden_states.0"}} {
		g, err := got.Tensor(pair[0])
		if err != nil {
			t.Fatalf("output lacks %s: %v", pair[0], err)
		}
		w, err := want.Tensor(pair[1])
		if err != nil {
			t.Fatal(err)
		}
		gv, _ := g.Float32s()
		wv, _ := w.Float32s()
		if len(gv) != len(wv) {
			t.Fatalf("%s: %d values, golden %d", pair[0], len(gv), len(wv))
		}
		for i := range gv {
			if math.Abs(float64(gv[i]-wv[i])) > 2e-5 {
				t.Fatalf("%s[%d] = %v, golden %v", pair[0], i, gv[i], wv[i])
			}
		}
	}
	if stderr != "" {
		t.Logf("stderr: %s", stderr)
	}
}

func TestForwardCLIErrors(t *testing.T) {
	_, _, code := runVilt(t, nil, "forward", "--model", "x")
	if code != 2 {
		t.Errorf("missing flags: exit %d, want 2", code)
	}
	bad := filepath.Join(t.TempDir(), "bad.safetensors")
	os.WriteFile(bad, []byte("not a safetensors file"), 0o644)
	_, stderr, code := runVilt(t, nil, "forward", "--model", t.TempDir(), "--inputs", bad, "--output", filepath.Join(t.TempDir(), "o"))
	if code != 1 || stderr == "" {
		t.Errorf("corrupt inputs: exit %d, stderr %q", code, stderr)
	}
}

func TestBenchAndForwardUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},                                // neither --synthetic nor --model
		{"bench", "--synthetic", "--model", "x"}, // both
		{"bench", "--synthetic", "stray"},        // positional argument
		{"forward", "--model", "m", "--inputs", "i", "--output", "o", "stray"},
	} {
		if _, _, code := runVilt(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestWriteFileAtomic: a failed write leaves neither the target nor a temporary file; a
// successful one replaces the target.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.safetensors")
	boom := os.ErrInvalid
	if err := writeFileAtomic(path, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	}); err == nil {
		t.Fatal("error not returned")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("failed write left %v", ents)
	}
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(path, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("content %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary file left: %v", ents)
	}
	if err := writeFileAtomic(filepath.Join(dir, "no/such/dir/x"), func(io.Writer) error { return nil }); err == nil {
		t.Error("write into a missing folder succeeded")
	}
}
