package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const dlGoldenModels = "../../../shared/golden/models"

// dlFakeHub serves one golden model folder as org/<name> on main, the way the hub
// answers: X-Repo-Commit, a sha256 ETag, 404 + EntryNotFound for absent files.
func dlFakeHub(t *testing.T, name string) *httptest.Server {
	t.Helper()
	dir := filepath.Join(dlGoldenModels, name)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("golden models not available: %v", err)
	}
	const commit = "0123456789abcdef0123456789abcdef01234567"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix := "/org/" + name + "/resolve/main/"
		if pinned := "/org/" + name + "/resolve/" + commit + "/"; strings.HasPrefix(r.URL.Path, pinned) {
			prefix = pinned
		}
		if !strings.HasPrefix(r.URL.Path, prefix) {
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, "no", 401)
			return
		}
		w.Header().Set("X-Repo-Commit", commit)
		file := strings.TrimPrefix(r.URL.Path, prefix)
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil || strings.Contains(file, "/") {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			http.Error(w, "no", 404)
			return
		}
		sum := sha256.Sum256(data)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDownloadThenInspect(t *testing.T) {
	srv := dlFakeHub(t, "tiny-vilt-p32-mlm")
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_TOKEN", "")
	var out, errb bytes.Buffer
	if code := run([]string{"download", "org/tiny-vilt-p32-mlm"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	snap := strings.TrimSpace(out.String())
	if !strings.HasPrefix(snap, filepath.Join(cache, "models--org--tiny-vilt-p32-mlm", "snapshots")) {
		t.Fatalf("snapshot dir %q", snap)
	}
	for _, f := range []string{"config.json", "pytorch_model.bin", "vocab.txt", "tokenizer_config.json", "preprocessor_config.json"} {
		if _, err := os.Stat(filepath.Join(snap, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// Offline, by id: from the cache.
	t.Setenv("HF_HUB_OFFLINE", "1")
	srv.Close()
	out.Reset()
	if code := run([]string{"inspect", "--json", "org/tiny-vilt-p32-mlm"}, &out, &errb); code != 0 {
		t.Fatalf("inspect exit %d: %s", code, errb.String())
	}
	var rep inspectReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Head != "ViltForMaskedLM" || !strings.HasPrefix(rep.Mapping, "ok") || rep.NumParams != 2099748 {
		t.Errorf("report %+v", rep)
	}
	// Offline download of something absent: a clear error, exit 1.
	errb.Reset()
	if code := run([]string{"download", "org/absent"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "HF_HUB_OFFLINE") {
		t.Errorf("offline miss: exit %d: %s", code, errb.String())
	}
}

func TestDownloadUsage(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"download"}, {"download", "a/b/c"}, {"download", "x", "y"}, {"download", "--bogus", "a/b"}} {
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
