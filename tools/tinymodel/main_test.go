package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedDemoModel: testdata/tiny-vilt-vqa is exactly what the generator writes, and
// small enough to commit.
func TestCommittedDemoModel(t *testing.T) {
	dir := t.TempDir()
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	committed := "../../testdata/tiny-vilt-vqa"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, e := range entries {
		want, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(committed, e.Name()))
		if err != nil {
			t.Errorf("%s: %v (run make tinymodel)", e.Name(), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output (run make tinymodel)", e.Name())
		}
		total += len(got)
	}
	if total > 1<<20 {
		t.Errorf("demo model is %d bytes, want < 1 MiB", total)
	}
}
