package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrecisionFlag: --precision is checked before anything loads, reaches the model (bench
// --json says which precision the weights have), and fp16 either runs the demo model to the
// same top answer as fp32 or, on a device that cannot read half weights, fails with a clear
// error.
func TestPrecisionFlag(t *testing.T) {
	dir := "../../testdata/tiny-vilt-vqa"
	img := filepath.Join(dir, "example.png")
	for _, args := range [][]string{
		{"bench", "--synthetic", "--precision", "bf16"},
		{"forward", "--model", dir, "--inputs", "missing", "--output", "o", "--precision", "int8"},
		{"vqa", "--model", dir, "--image", img, "--question", "q", "--precision", "fp8"},
	} {
		_, errOut, code := runVilt(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, "--precision") {
			t.Errorf("%v: exit %d, want 2 and a message naming --precision: %s", args, code, errOut)
		}
	}
	answers := map[string]string{}
	for _, p := range []string{"fp32", "fp16"} {
		out, errOut, code := runVilt(t, nil, "bench", "--model", dir, "--image", img, "--precision", p, "--runs", "1", "--batch", "0", "--profile=false", "--json")
		if p == "fp16" && code == 1 && strings.Contains(errOut, "precision fp16") {
			t.Logf("device refuses fp16: %s", strings.TrimSpace(errOut))
			return
		}
		if code != 0 {
			t.Fatalf("bench --precision %s: exit %d: %s", p, code, errOut)
		}
		var res struct {
			Precision   string `json:"precision"`
			WeightBytes uint64 `json:"weight_bytes"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("bench --json: %v\n%s", err, out)
		}
		if res.Precision != p {
			t.Errorf("bench --precision %s reports precision %q", p, res.Precision)
		}
		out, errOut, code = runVilt(t, nil, "vqa", "--model", dir, "--image", img, "--question", "How many cats are there?", "--precision", p, "--json")
		if code != 0 {
			t.Fatalf("vqa --precision %s: exit %d: %s", p, code, errOut)
		}
		var ans []struct {
			Answer string `json:"answer"`
		}
		if err := json.Unmarshal([]byte(out), &ans); err != nil || len(ans) == 0 {
			t.Fatalf("vqa --json: %v\n%s", err, out)
		}
		answers[p] = ans[0].Answer
	}
	if answers["fp16"] != answers["fp32"] {
		t.Errorf("top answer fp16 %q, fp32 %q", answers["fp16"], answers["fp32"])
	}
}
