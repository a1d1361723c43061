package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReadLines(t *testing.T) {
	for _, c := range []struct {
		name, data string
		want       []string
	}{
		{"lf", "a cat\n\ntwo dogs\n", []string{"a cat", "two dogs"}},
		{"crlf with bom", "\ufeffa cat\r\n\r\n  two dogs \r\n", []string{"a cat", "two dogs"}},
		{"no final newline", "a cat", []string{"a cat"}},
		{"bom only at start", "x\n\ufeffy", []string{"x", "\ufeffy"}},
	} {
		p := filepath.Join(t.TempDir(), "texts.txt")
		os.WriteFile(p, []byte(c.data), 0o644)
		got, err := readLines(p)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q %v, want %q", c.name, got, err, c.want)
		}
	}
}
