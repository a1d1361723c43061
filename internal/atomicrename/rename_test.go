package atomicrename

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRenameReplaces(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out.bin")
	for i, content := range []string{"first", "second, longer"} {
		tmp := filepath.Join(dir, ".tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Rename(tmp, dst); err != nil {
			t.Fatalf("rename %d: %v", i, err)
		}
		if b, err := os.ReadFile(dst); err != nil || string(b) != content {
			t.Fatalf("after rename %d: %q %v", i, b, err)
		}
		if _, err := os.Stat(tmp); !os.IsNotExist(err) {
			t.Fatalf("temporary file left: %v", err)
		}
	}
}

// A reader holding dst open only delays the replace (on Windows it blocks MoveFileEx).
func TestRenameWaitsForReader(t *testing.T) {
	dir := t.TempDir()
	dst, tmp := filepath.Join(dir, "out.bin"), filepath.Join(dir, ".tmp")
	os.WriteFile(dst, []byte("old"), 0o644)
	os.WriteFile(tmp, []byte("new"), 0o644)
	r, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		r.Close()
	}()
	if err := Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "new" {
		t.Fatalf("dst = %q", b)
	}
}

func TestRenameMissingSource(t *testing.T) {
	dir := t.TempDir()
	if err := Rename(filepath.Join(dir, "nope"), filepath.Join(dir, "dst")); err == nil {
		t.Fatal("want an error")
	}
}
