package main

import (
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vilt-vk/vilt-vk/weights"
)

func writeST(t *testing.T, tensors map[string][]float32) string {
	t.Helper()
	var ts []*weights.Tensor
	for name, v := range tensors {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		tt, err := weights.NewTensor(name, weights.F32, []int{len(v)}, b)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tt)
	}
	p := filepath.Join(t.TempDir(), "t.safetensors")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := weights.WriteSafetensors(f, ts, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRun(t *testing.T) {
	want := writeST(t, map[string][]float32{"logits": {1, 2, 3}, "rowmajor.h": {0, 0}, "h": {9, 9}})
	for _, c := range []struct {
		name    string
		got     map[string][]float32
		prefix  string
		missing bool
		errHas  string
	}{
		{"equal within tol", map[string][]float32{"logits": {1, 2, 3.00001}}, "", false, ""},
		{"over tol", map[string][]float32{"logits": {1, 2.001, 3}}, "", false, "logits: max |diff|"},
		{"prefixed copy preferred", map[string][]float32{"h": {0, 0}}, "rowmajor.", false, ""},
		{"unprefixed compared as is", map[string][]float32{"h": {0, 0}}, "", false, "h: max |diff|"},
		{"missing", map[string][]float32{"nope": {1}, "logits": {1, 2, 3}}, "", false, "nope: not in"},
		{"missing ok", map[string][]float32{"nope": {1}, "logits": {1, 2, 3}}, "", true, ""},
		{"nothing compared", map[string][]float32{"nope": {1}}, "", true, "no float tensors"},
		{"shape", map[string][]float32{"logits": {1, 2}}, "", false, "shape"},
		{"nan", map[string][]float32{"logits": {1, float32(math.NaN()), 3}}, "", false, "max |diff| NaN"},
	} {
		err := run(io.Discard, writeST(t, c.got), want, c.prefix, 2e-5, c.missing)
		if c.errHas == "" && err != nil || c.errHas != "" && (err == nil || !strings.Contains(err.Error(), c.errHas)) {
			t.Errorf("%s: %v, want error containing %q", c.name, err, c.errHas)
		}
	}
}
