package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vilt-vk/vilt-vk/weights"
)

// writeTestImages writes n small PNGs of different sizes and contents into dir, named
// img0.png …, and returns the names.
func writeTestImages(t *testing.T, dir string, n int) []string {
	t.Helper()
	var names []string
	for k := range n {
		w, h := 40+23*k, 90-11*k
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				img.Set(x, y, color.RGBA{uint8(x * 7 * (k + 1)), uint8(y * 5), uint8(k * 60), 255})
			}
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("img%d.png", k)
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// testManifest writes a manifest over the images: entries with 3, 1, none (the shared
// texts), 4 and 2 texts, so forwards of 3 pairs straddle entries and shards.
func testManifest(t *testing.T, dir string, imgs []string) string {
	t.Helper()
	texts := [][]string{
		{"a cat on a couch", "two dogs", "x"},
		{"a red car"},
		nil,
		{"a bunch of bananas", "sky", "a very long sentence about a photo with many words in it", "b"},
		{"tall", "a tree"},
	}
	var b strings.Builder
	for k, ts := range texts {
		e := map[string]any{"image": imgs[k%len(imgs)]}
		if ts != nil {
			e["texts"] = ts
		}
		if k == 3 {
			e["id"] = "entry-3"
		}
		line, _ := json.Marshal(e)
		b.Write(line)
		b.WriteString("\n")
		if k == 1 {
			b.WriteString("\n") // blank lines are skipped
		}
	}
	path := filepath.Join(dir, "manifest.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runShards runs `vilt args... --shard i/n` for every i as concurrent processes
// (env, when set, gives shard i its environment instead of --shard).
func runShards(t *testing.T, n int, env func(i int) []string, args ...string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]string, n)
	for i := range n {
		wg.Go(func() {
			a, e := args, []string(nil)
			if env != nil {
				e = env(i)
			} else {
				a = append(slices.Clone(args), "--shard", fmt.Sprintf("%d/%d", i, n))
			}
			if _, errOut, code := runVilt(t, e, a...); code != 0 {
				errs[i] = fmt.Sprintf("shard %d: exit %d: %s", i, code, errOut)
			}
		})
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Fatal(e)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRankManifestSharded: `vilt rank --manifest` in 3 processes, one shard each, then
// `vilt merge`, is byte for byte the unsharded output; reruns of finished shards do
// nothing, a killed shard restarts cleanly, and the scores are those of plain `vilt rank`.
func TestRankManifestSharded(t *testing.T) {
	needTaskGolden(t)
	model := filepath.Join(taskGolden, "models/tiny-vilt-p32-retrieval")
	dir := t.TempDir()
	imgs := writeTestImages(t, dir, 4)
	manifest := testManifest(t, dir, imgs)
	textsFile := filepath.Join(dir, "shared.txt")
	os.WriteFile(textsFile, []byte("shared one\nshared two\n"), 0o644)
	common := []string{"rank", "--model", model, "--manifest", manifest, "--texts", textsFile, "--batch", "3", "--quiet"}

	whole := filepath.Join(dir, "whole.jsonl")
	if _, errOut, code := runVilt(t, nil, append(common, "--output", whole)...); code != 0 {
		t.Fatalf("unsharded: exit %d: %s", code, errOut)
	}
	want := readFile(t, whole)
	var lines []rankLine
	for _, l := range strings.Split(strings.TrimSuffix(string(want), "\n"), "\n") {
		var rl rankLine
		if err := json.Unmarshal([]byte(l), &rl); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		lines = append(lines, rl)
	}
	if len(lines) != 5 || len(lines[0].Scores) != 3 || len(lines[2].Scores) != 2 || lines[3].ID != "entry-3" || lines[4].Index != 4 || lines[4].Image != imgs[0] {
		t.Fatalf("unexpected output:\n%s", want)
	}

	// Entry 0 starts the manifest, so its forward is the one plain `vilt rank` runs.
	out, errOut, code := runVilt(t, nil, "rank", "--model", model, "--images", filepath.Join(dir, imgs[0]), "--batch", "3",
		"--text", "a cat on a couch", "--text", "two dogs", "--text", "x", "--json", "--quiet")
	var plain struct{ Scores [][]float64 }
	if code != 0 || json.Unmarshal([]byte(out), &plain) != nil {
		t.Fatalf("vilt rank: exit %d: %s", code, errOut)
	}
	for j, s := range plain.Scores[0] {
		if float32(s) != lines[0].Scores[j] {
			t.Errorf("text %d: manifest score %v, vilt rank %v", j, lines[0].Scores[j], s)
		}
	}

	sharded := filepath.Join(dir, "out", "scores.jsonl")
	os.Mkdir(filepath.Dir(sharded), 0o755)
	runShards(t, 3, nil, append(common, "--output", sharded)...)
	if _, errOut, code := runVilt(t, nil, "merge", "--output", sharded); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errOut)
	}
	if got := readFile(t, sharded); !bytes.Equal(got, want) {
		t.Fatalf("merged shards differ from the unsharded run:\n%s\nwant\n%s", got, want)
	}

	// A finished shard is not run again (even with a model that could not run it).
	shard1 := shardPath(sharded, shard{1, 3})
	before := readFile(t, shard1)
	out, errOut, code = runVilt(t, nil, "rank", "--model", "testdata/none", "--manifest", manifest, "--texts", textsFile,
		"--output", sharded, "--shard", "1/3")
	if code != 0 || !strings.Contains(out, "already done") || !bytes.Equal(readFile(t, shard1), before) {
		t.Errorf("rerun of a finished shard: exit %d\n%s\n%s", code, out, errOut)
	}
	// A killed shard (its temporary file left, no output) restarts cleanly; the index
	// comes from Kubernetes' environment.
	shard2 := shardPath(sharded, shard{2, 3})
	os.Remove(shard2)
	stale := filepath.Join(filepath.Dir(shard2), "."+filepath.Base(shard2)+".tmp-12345")
	os.WriteFile(stale, []byte(`{"index":3,"ima`), 0o600)
	env := []string{envCompletionIndex + "=2", envShards + "=3"}
	if _, errOut, code := runVilt(t, env, append(common, "--output", sharded)...); code != 0 {
		t.Fatalf("restart: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("the stale temporary file is still there")
	}
	if _, errOut, code := runVilt(t, nil, "merge", "--output", sharded); code != 0 || !bytes.Equal(readFile(t, sharded), want) {
		t.Fatalf("merge after restart: exit %d: %s", code, errOut)
	}

	// An output that is not this shard's is refused, not overwritten.
	os.WriteFile(shard2, before, 0o644)
	_, errOut, code = runVilt(t, nil, append(common, "--output", sharded, "--shard", "2/3")...)
	if code != 1 || !strings.Contains(errOut, "remove it") || !bytes.Equal(readFile(t, shard2), before) {
		t.Errorf("foreign output: exit %d: %s", code, errOut)
	}
	// merge refuses shards that do not continue each other, and missing shards.
	_, errOut, code = runVilt(t, nil, "merge", "--output", sharded)
	if code != 1 || !strings.Contains(errOut, "do not continue") {
		t.Errorf("merge of mismatched shards: exit %d: %s", code, errOut)
	}
	os.Remove(shard2)
	_, errOut, code = runVilt(t, nil, "merge", "--output", sharded)
	if code != 1 || !strings.Contains(errOut, "shards 2 of 3 are missing") {
		t.Errorf("merge with a missing shard: exit %d: %s", code, errOut)
	}
}

// TestEmbedManifestSharded: embeddings of a manifest in 4 shard processes (more shards
// than some entries' pairs; the indices from the environment as in an Indexed Job), merged,
// equal the unsharded file byte for byte, and each row is the pair's embedding.
func TestEmbedManifestSharded(t *testing.T) {
	model := "../../testdata/tiny-vilt-vqa"
	dir := t.TempDir()
	imgs := writeTestImages(t, dir, 3)
	manifest := testManifest(t, dir, imgs)
	common := []string{"embed", "--model", model, "--manifest", manifest, "--text", "shared text", "--batch", "4", "--quiet"}

	whole := filepath.Join(dir, "whole.safetensors")
	if _, errOut, code := runVilt(t, nil, append(common, "--output", whole)...); code != 0 {
		t.Fatalf("unsharded: exit %d: %s", code, errOut)
	}
	want := readFile(t, whole)
	sharded := filepath.Join(dir, "emb.safetensors")
	runShards(t, 4, func(i int) []string {
		return []string{envCompletionIndex + "=" + strconv.Itoa(i), envShards + "=4"}
	}, append(common, "--output", sharded)...)
	if _, errOut, code := runVilt(t, nil, "merge", "--output", sharded); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errOut)
	}
	if got := readFile(t, sharded); !bytes.Equal(got, want) {
		t.Fatalf("merged shards (%d bytes) differ from the unsharded run (%d bytes)", len(got), len(want))
	}

	pooled := goldenTensor(t, whole, "pooler_output")
	idx := int64s(t, whole, "index")
	tidx := int64s(t, whole, "text_index")
	wantIdx := []int64{0, 0, 0, 1, 2, 3, 3, 3, 3, 4, 4}
	if !slices.Equal(idx, wantIdx) || !slices.Equal(tidx, []int64{0, 1, 2, 0, 0, 0, 1, 2, 3, 0, 1}) {
		t.Fatalf("index %v text_index %v", idx, tidx)
	}
	H := len(pooled) / len(idx)
	// Row 4 is entry 2 with the shared text: the pair alone gives the same embedding up to
	// float rounding (its forward here holds other pairs).
	single := filepath.Join(dir, "single.safetensors")
	if _, errOut, code := runVilt(t, nil, "embed", "--model", model, "--image", filepath.Join(dir, imgs[2]), "--text", "shared text",
		"--output", single, "--quiet"); code != 0 {
		t.Fatalf("embed: exit %d: %s", code, errOut)
	}
	one := goldenTensor(t, single, "pooler_output")
	for h := range H {
		if d := math.Abs(float64(one[h] - pooled[4*H+h])); d > 1e-4 {
			t.Fatalf("pooler_output[4][%d] = %v, the pair alone gives %v", h, pooled[4*H+h], one[h])
		}
	}

	// Shards of another run (another shared text) do not merge with these, nor does a
	// shard given twice.
	other := filepath.Join(dir, "other.safetensors")
	if _, errOut, code := runVilt(t, nil, "embed", "--model", model, "--manifest", manifest, "--text", "another text",
		"--batch", "4", "--quiet", "--output", other, "--shard", "0/4"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	mixed := filepath.Join(dir, "mixed.safetensors")
	_, errOut, code := runVilt(t, nil, "merge", "--output", mixed,
		shardPath(other, shard{0, 4}), shardPath(sharded, shard{1, 4}), shardPath(sharded, shard{2, 4}), shardPath(sharded, shard{3, 4}))
	if code != 1 || !strings.Contains(errOut, "not the same run") {
		t.Errorf("shards of two runs: exit %d: %s", code, errOut)
	}
	_, errOut, code = runVilt(t, nil, "merge", "--output", mixed,
		shardPath(sharded, shard{0, 4}), shardPath(sharded, shard{1, 4}), shardPath(sharded, shard{1, 4}), shardPath(sharded, shard{3, 4}))
	if code != 1 || !strings.Contains(errOut, "given twice") {
		t.Errorf("duplicate shard: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(mixed); err == nil {
		t.Error("a refused merge wrote its output")
	}
}

func int64s(t *testing.T, file, name string) []int64 {
	t.Helper()
	return safetensorsValues(t, file, name, (*weights.Tensor).Int64s)
}
