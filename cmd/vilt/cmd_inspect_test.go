package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInspectGoldenModels(t *testing.T) {
	if _, err := os.Stat(dlGoldenModels); err != nil {
		t.Skip(err)
	}
	cases := map[string]struct {
		head   string
		heads  string
		params int64
	}{
		"tiny-vilt-p32-vqa":    {"ViltForQuestionAnswering", "classifier (VQA)", 0},
		"tiny-vilt-p32-nlvr2":  {"ViltForImagesAndTextClassification", "classifier (NLVR2)", 1095852},
		"tiny-vilt-p32-tokcls": {"ViltForTokenClassification", "token classification", 0},
		"tiny-vilt-p32-model":  {"ViltModel", "pooler", 0},
		"tiny-vilt-p32-mlm":    {"ViltForMaskedLM", "mlm_score", 2099748},
	}
	for name, want := range cases {
		var out, errb bytes.Buffer
		if code := run([]string{"inspect", "--json", filepath.Join(dlGoldenModels, name)}, &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errb.String())
		}
		var rep inspectReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Head != want.head || !strings.Contains(strings.Join(rep.HeadsPresent, ","), want.heads) ||
			!strings.HasPrefix(rep.Mapping, "ok") || rep.Config == nil || rep.Config.ExpectedParams != rep.NumParams ||
			(want.params != 0 && rep.NumParams != want.params) || len(rep.Tensors) != rep.NumTensors {
			t.Errorf("%s: %+v", name, rep)
		}
	}
	// Text output names the essentials.
	var out, errb bytes.Buffer
	if code := run([]string{"inspect", filepath.Join(dlGoldenModels, "tiny-vilt-p32-vqa")}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	for _, s := range []string{"7 labels (yes, no, 2, 1, 3, …)", "mapping   ok", "classifier.3.weight", "[7 64]"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("text output lacks %q:\n%s", s, out.String())
		}
	}
}

func TestInspectErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "model.safetensors")
	os.WriteFile(bad, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{not json}      "), 0o644)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "1")
	cases := []struct {
		args []string
		code int
		has  string
	}{
		{[]string{"inspect"}, 2, ""},
		{[]string{"inspect", bad}, 1, "invalid"},
		{[]string{"inspect", t.TempDir()}, 1, "no weight file"},
		{[]string{"inspect", "org/not-cached"}, 1, "HF_HUB_OFFLINE"},
		{[]string{"inspect", "./missing"}, 1, "missing"}, // the OS error names the path
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(c.args, &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.has) {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, errb.String())
		}
	}
	// A config that disagrees with the weights is reported, not fatal.
	src := filepath.Join(dlGoldenModels, "tiny-vilt-p32-model")
	if _, err := os.Stat(src); err != nil {
		return
	}
	mdir := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(src, "model.safetensors"))
	os.WriteFile(filepath.Join(mdir, "model.safetensors"), b, 0o644)
	os.WriteFile(filepath.Join(mdir, "config.json"), []byte(`{"hidden_size": 32, "num_attention_heads": 4, "num_hidden_layers": 3, "intermediate_size": 37, "image_size": 64}`), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"inspect", "--json", mdir}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	var rep inspectReport
	json.Unmarshal(out.Bytes(), &rep)
	if !strings.Contains(rep.Mapping, "16 missing") {
		t.Errorf("mapping %q", rep.Mapping)
	}
}
