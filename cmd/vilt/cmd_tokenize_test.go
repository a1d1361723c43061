package main

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

const procModelDir = "../../../shared/golden/models/tiny-vilt-p32-vqa"

func procNeedModel(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(procModelDir + "/vocab.txt"); err != nil {
		t.Skipf("shared model folder not available: %v", err)
	}
}

func TestTokenizeCommand(t *testing.T) {
	procNeedModel(t)
	var out, errb bytes.Buffer
	code := run([]string{"tokenize", "--model", procModelDir, "--text", "How many cats are there?", "--text", "two", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep tokenizeReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if want := [][]int64{{101, 2129, 2116, 8870, 2024, 2045, 1029, 102}, {101, 2048, 102, 0, 0, 0, 0, 0}}; !reflect.DeepEqual(rep.InputIDs, want) {
		t.Errorf("ids %v want %v", rep.InputIDs, want)
	}
	if rep.AttentionMask[1][3] != 0 || rep.Decoded[0] != "how many cats are there?" {
		t.Errorf("mask %v decoded %q", rep.AttentionMask, rep.Decoded)
	}

	out.Reset()
	if code := run([]string{"tokenize", "--model", procModelDir, "--text", "a [MASK] cat"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "[CLS] a [MASK] cat [SEP]") || !strings.Contains(out.String(), "101 1037 103 4937 102") {
		t.Errorf("text output:\n%s", out.String())
	}
}

func TestTokenizeCommandErrors(t *testing.T) {
	procNeedModel(t)
	long := strings.Repeat("cat ", 50)
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"tokenize", "--text", "x"}, 2},                                               // no --model
		{[]string{"tokenize", "--model", procModelDir}, 2},                                     // no --text
		{[]string{"tokenize", "--model", procModelDir, "--text", "x", "--padding", "wide"}, 2}, // bad padding
		{[]string{"tokenize", "--model", procModelDir, "--text", "a", "--text", "b", "--text-pair", "c"}, 2},
		{[]string{"tokenize", "--model", procModelDir, "--text", long, "--strict-length"}, 1},
		{[]string{"tokenize", "--model", procModelDir, "--text", long}, 0},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != c.code {
			t.Errorf("%q: exit %d, want %d (%s)", c.args, code, c.code, errb.String())
		}
	}
}
