package hub

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHub plays huggingface.co: /{repo}/resolve/{rev}/{file}. Large ("LFS") files
// answer HEAD and GET with a 302 to a CDN server on another host, carrying
// X-Linked-Etag (sha256) and X-Linked-Size; small files answer directly with a git-blob
// ETag. Unknown files give 404 with X-Error-Code EntryNotFound and the commit.
type fakeHub struct {
	t        *testing.T
	repo     string
	branches map[string]string            // revision → commit
	files    map[string]map[string][]byte // commit → file → content
	lfsMin   int                          // files at least this big are "LFS"
	hub, cdn *httptest.Server

	mu       sync.Mutex
	requests []string // "METHOD path range"
	auth     []string
	failGet  int // fail the next GETs after sending half the body
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{t: t, repo: "org/tiny", branches: map[string]string{}, files: map[string]map[string][]byte{}, lfsMin: 1000}
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	h.hub = httptest.NewServer(http.HandlerFunc(h.serveHub))
	t.Cleanup(func() { h.hub.Close(); h.cdn.Close() })
	return h
}

func (h *fakeHub) add(rev, commit string, files map[string][]byte) {
	h.branches[rev] = commit
	h.branches[commit] = commit
	h.files[commit] = files
}

func gitETag(b []byte) string {
	s := sha1.New()
	fmt.Fprintf(s, "blob %d\x00", len(b))
	s.Write(b)
	return hex.EncodeToString(s.Sum(nil))
}

func lfsETag(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (h *fakeHub) log(r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, r.Method+" "+r.URL.EscapedPath()+" "+r.Header.Get("Range"))
	h.auth = append(h.auth, r.Header.Get("Authorization"))
}

func (h *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	h.log(r)
	prefix := "/" + h.repo + "/resolve/"
	if !strings.HasPrefix(r.URL.EscapedPath(), prefix) {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "repo not found", 401)
		return
	}
	rest := strings.TrimPrefix(r.URL.EscapedPath(), prefix)
	revEsc, file, _ := strings.Cut(rest, "/")
	rev := strings.ReplaceAll(revEsc, "%2F", "/")
	commit, ok := h.branches[rev]
	if !ok {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, "revision not found", 404)
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	data, ok := h.files[commit][file]
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "entry not found", 404)
		return
	}
	if len(data) >= h.lfsMin {
		w.Header().Set("X-Linked-Etag", `"`+lfsETag(data)+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(data)))
		w.Header().Set("ETag", `W/"not-the-blob"`)
		http.Redirect(w, r, h.cdn.URL+"/blob/"+commit+"/"+file, http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+gitETag(data)+`"`)
	h.serveContent(w, r, data)
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.log(r)
	if r.Header.Get("Authorization") != "" {
		h.t.Error("the token was sent to the CDN")
	}
	commit, file, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/blob/"), "/")
	h.serveContent(w, r, h.files[commit][file])
}

func (h *fakeHub) serveContent(w http.ResponseWriter, r *http.Request, data []byte) {
	h.mu.Lock()
	fail := r.Method == "GET" && h.failGet > 0
	if fail {
		h.failGet--
	}
	h.mu.Unlock()
	if fail { // send half, then drop the connection
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(200)
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func (h *fakeHub) reset() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.requests
	h.requests = nil
	return r
}

func (h *fakeHub) client(t *testing.T) *Client {
	c := NewClient()
	c.Cache = Cache{Dir: filepath.Join(t.TempDir(), "hub")}
	c.Endpoint = h.hub.URL
	c.Offline = false
	c.Token = ""
	return c
}

const (
	commitA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	commitB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func repoFiles(weightName string, weight []byte) map[string][]byte {
	return map[string][]byte{
		"config.json":              []byte(`{"architectures": ["ViltModel"]}`),
		"preprocessor_config.json": []byte(`{"size": 384}`),
		"vocab.txt":                []byte("[PAD]\n[UNK]\n"),
		weightName:                 weight,
	}
}

func bigBlob(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestModelDownloadLayout(t *testing.T) {
	h := newFakeHub(t)
	bin := bigBlob(5000)
	h.add("main", commitA, repoFiles("pytorch_model.bin", bin))
	c := h.client(t)
	var progress []Progress
	c.Progress = func(p Progress) { progress = append(progress, p) }
	c.Token = "secret"
	dir, err := c.Model(context.Background(), Ref{RepoID: "org/tiny", Revision: "main"})
	if err != nil {
		t.Fatal(err)
	}
	repo := c.Cache.RepoDir("org/tiny")
	if filepath.Base(repo) != "models--org--tiny" || dir != filepath.Join(repo, "snapshots", commitA) {
		t.Errorf("dir %s", dir)
	}
	if b, _ := os.ReadFile(filepath.Join(repo, "refs", "main")); string(b) != commitA {
		t.Errorf("refs/main = %q, want the commit without a newline", b)
	}
	symlinks := symlinksWork(t)
	for name, data := range repoFiles("pytorch_model.bin", bin) {
		p := filepath.Join(dir, name)
		etag := gitETag(data)
		if len(data) >= h.lfsMin {
			etag = lfsETag(data)
		}
		if symlinks {
			if link, err := os.Readlink(p); err != nil || link != filepath.Join("..", "..", "blobs", etag) {
				t.Errorf("%s: link %q (%v), want ../../blobs/%s", name, link, err, etag)
			}
		} else if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
			t.Errorf("%s: without symlinks want a plain file, got %v %v", name, st, err)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
			t.Errorf("%s: content differs", name)
		}
	}
	for _, absent := range []string{"tokenizer_config.json", "tokenizer.json", "model.safetensors", "model.safetensors.index.json"} {
		if _, err := os.Stat(filepath.Join(repo, ".no_exist", commitA, absent)); err != nil {
			t.Errorf(".no_exist marker for %s: %v", absent, err)
		}
	}
	if _, err := os.Stat(filepath.Join(repo, ".no_exist", commitA, "pytorch_model.bin.index.json")); err == nil {
		t.Error("looked past pytorch_model.bin")
	}
	if len(progress) == 0 || progress[len(progress)-1].Done != int64(len(bin)) && progress[len(progress)-1].File != "pytorch_model.bin" {
		t.Errorf("progress %v", progress)
	}
	for _, a := range h.auth {
		if a != "" && a != "Bearer secret" {
			t.Errorf("auth header %q", a)
		}
	}
	h.reset()

	// Second time on a branch: HEADs only, no download.
	if _, err := c.Model(context.Background(), Ref{RepoID: "org/tiny", Revision: "main"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range h.reset() {
		if strings.HasPrefix(r, "GET") {
			t.Errorf("re-downloaded: %s", r)
		}
	}
	// By commit: no request at all.
	if _, err := c.Model(context.Background(), Ref{RepoID: "org/tiny", Revision: commitA}); err != nil {
		t.Fatal(err)
	}
	if r := h.reset(); len(r) != 0 {
		t.Errorf("requests for a cached commit: %v", r)
	}
	// Offline: from the cache; a missing repository is a clear error.
	c.Offline = true
	if d, err := c.Model(context.Background(), Ref{RepoID: "org/tiny", Revision: "main"}); err != nil || d != dir {
		t.Errorf("offline: %s %v", d, err)
	}
	_, err = c.Model(context.Background(), Ref{RepoID: "org/other", Revision: "main"})
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Errorf("offline miss: %v", err)
	}
	if r := h.reset(); len(r) != 0 {
		t.Errorf("requests while offline: %v", r)
	}
	// Hub unreachable: the cached files are used.
	c.Offline = false
	h.hub.Close()
	if p, err := c.Download(context.Background(), Ref{RepoID: "org/tiny", Revision: "main"}, "config.json"); err != nil || !strings.HasPrefix(p, dir) {
		t.Errorf("unreachable hub: %s %v", p, err)
	}
}

// safetensors is preferred; a PR ref is stored as refs/refs/pr/N.
func TestModelPrefersSafetensorsOnPRRef(t *testing.T) {
	h := newFakeHub(t)
	h.add("main", commitA, repoFiles("pytorch_model.bin", bigBlob(3000)))
	pr := repoFiles("pytorch_model.bin", bigBlob(3000))
	pr["model.safetensors"] = bigBlob(2000)
	h.add("refs/pr/9", commitB, pr)
	c := h.client(t)
	r, err := ParseRef("org/tiny@refs/pr/9")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := c.Model(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pytorch_model.bin")); err == nil {
		t.Error("downloaded pytorch_model.bin as well")
	}
	if b, _ := os.ReadFile(filepath.Join(c.Cache.RepoDir("org/tiny"), "refs", "refs", "pr", "9")); string(b) != commitB {
		t.Errorf("refs/refs/pr/9 = %q", b)
	}
	for _, q := range h.reset() {
		if strings.Contains(q, "/resolve/") && !strings.Contains(q, "/resolve/refs%2Fpr%2F9/") && !strings.Contains(q, "/resolve/"+commitB+"/") {
			t.Errorf("request %s does not use the escaped PR revision or its commit", q)
		}
	}
	if d, err := c.LocalModel(r); err != nil || d != dir {
		t.Errorf("LocalModel: %s %v", d, err)
	}
}

func TestDownloadResumes(t *testing.T) {
	h := newFakeHub(t)
	bin := bigBlob(50000)
	h.add("main", commitA, repoFiles("pytorch_model.bin", bin))
	c := h.client(t)
	r := Ref{RepoID: "org/tiny", Revision: "main"}
	// A dropped connection keeps the partial file.
	h.failGet = 1
	if _, err := c.Download(context.Background(), r, "pytorch_model.bin"); err == nil {
		t.Fatal("want an error from the dropped connection")
	}
	partial := filepath.Join(c.Cache.RepoDir("org/tiny"), "blobs", lfsETag(bin)+".incomplete")
	st, err := os.Stat(partial)
	if err != nil || st.Size() == 0 || st.Size() >= int64(len(bin)) {
		t.Fatalf("partial file: %v %v", st, err)
	}
	h.reset()
	p, err := c.Download(context.Background(), r, "pytorch_model.bin")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, bin) {
		t.Error("resumed content differs")
	}
	resumed := false
	for _, q := range h.reset() {
		if strings.HasPrefix(q, "GET") && strings.HasSuffix(q, fmt.Sprintf("bytes=%d-", st.Size())) {
			resumed = true
		}
	}
	if !resumed {
		t.Error("no Range request")
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Error(".incomplete left behind")
	}
}

func TestDownloadRejectsCorruptPartial(t *testing.T) {
	h := newFakeHub(t)
	bin := bigBlob(4000)
	h.add("main", commitA, repoFiles("pytorch_model.bin", bin))
	c := h.client(t)
	blobs := filepath.Join(c.Cache.RepoDir("org/tiny"), "blobs")
	os.MkdirAll(blobs, 0o755)
	partial := filepath.Join(blobs, lfsETag(bin)+".incomplete")
	os.WriteFile(partial, bytes.Repeat([]byte{0xff}, 100), 0o644)
	_, err := c.Download(context.Background(), Ref{RepoID: "org/tiny", Revision: "main"}, "pytorch_model.bin")
	if err == nil || !strings.Contains(err.Error(), "hash") {
		t.Errorf("want a hash mismatch, got %v", err)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Error("corrupt partial kept")
	}
	// The next attempt starts over and succeeds.
	if _, err := c.Download(context.Background(), Ref{RepoID: "org/tiny", Revision: "main"}, "pytorch_model.bin"); err != nil {
		t.Error(err)
	}
}

func TestDownloadErrors(t *testing.T) {
	h := newFakeHub(t)
	h.add("main", commitA, repoFiles("pytorch_model.bin", bigBlob(10)))
	c := h.client(t)
	ctx := context.Background()
	if _, err := c.Download(ctx, Ref{RepoID: "org/nope", Revision: "main"}, "config.json"); !errors.Is(err, ErrRepoNotFound) {
		t.Errorf("missing repo: %v", err)
	}
	if _, err := c.Download(ctx, Ref{RepoID: "org/tiny", Revision: "v9"}, "config.json"); !errors.Is(err, ErrRepoNotFound) {
		t.Errorf("missing revision: %v", err)
	}
	if _, err := c.Download(ctx, Ref{RepoID: "org/tiny", Revision: "main"}, "nope.json"); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf("missing file: %v", err)
	}
	// The marker answers for the commit without a request.
	h.reset()
	if _, err := c.Download(ctx, Ref{RepoID: "org/tiny", Revision: commitA}, "nope.json"); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf("marker: %v", err)
	}
	if r := h.reset(); len(r) != 0 {
		t.Errorf("requests: %v", r)
	}
	if _, err := c.Download(ctx, Ref{RepoID: "org/tiny", Revision: "main"}, "../escape"); err == nil {
		t.Error("accepted ../escape")
	}
	// A server that is not a hub.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) }))
	defer plain.Close()
	c.Endpoint = plain.URL
	if _, err := c.Download(ctx, Ref{RepoID: "org/x", Revision: "main"}, "config.json"); err == nil || !strings.Contains(err.Error(), "X-Repo-Commit") {
		t.Errorf("non-hub server: %v", err)
	}
}

func TestParseRef(t *testing.T) {
	good := map[string]Ref{
		"dandelin/vilt-b32-finetuned-vqa": {"dandelin/vilt-b32-finetuned-vqa", "main"},
		"dandelin/vilt-b32-mlm@refs/pr/4": {"dandelin/vilt-b32-mlm", "refs/pr/4"},
		"bert-base-uncased":               {"bert-base-uncased", "main"},
		"org/m@" + commitA:                {"org/m", commitA},
		"org/m.v2@v1.0":                   {"org/m.v2", "v1.0"},
	}
	for s, want := range good {
		got, err := ParseRef(s)
		if err != nil || got != want {
			t.Errorf("ParseRef(%q) = %+v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "a/b/c", "../x", "org/..", "org/m@../../x", "org/m@", "org/a--b", "/abs", "org/m@refs//x", `org\name`, `C:\models\vilt`, "C:/models/vilt"} { // hub ids use "/" only; Windows paths are not ids
		if r, err := ParseRef(s); err == nil && s != "org/m@" {
			t.Errorf("ParseRef(%q) = %+v, want an error", s, r)
		}
	}
}

func TestCacheDirEnv(t *testing.T) {
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"} {
		t.Setenv(k, "")
	}
	home := filepath.FromSlash("/home/u")
	t.Setenv("HOME", home)        // Unix
	t.Setenv("USERPROFILE", home) // Windows: Python's expanduser and os.UserHomeDir read it
	if d := CacheDir(); d != filepath.Join(home, ".cache", "huggingface", "hub") {
		t.Errorf("default %s", d)
	}
	t.Setenv("HF_HOME", "~/hf")
	if d := CacheDir(); d != filepath.Join(home, "hf", "hub") {
		t.Errorf("HF_HOME=~/hf %s", d)
	}
	if runtime.GOOS == "windows" {
		t.Setenv("HF_HOME", `~\hf`)
		if d := CacheDir(); d != filepath.Join(home, "hf", "hub") {
			t.Errorf(`HF_HOME=~\hf %s`, d)
		}
	}
	t.Setenv("HF_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d := CacheDir(); d != filepath.Join("/xdg", "huggingface", "hub") {
		t.Errorf("XDG %s", d)
	}
	t.Setenv("HF_HOME", "/hfhome")
	if d := CacheDir(); d != filepath.Join("/hfhome", "hub") {
		t.Errorf("HF_HOME %s", d)
	}
	t.Setenv("HF_HUB_CACHE", "/direct")
	if d := CacheDir(); d != "/direct" {
		t.Errorf("HF_HUB_CACHE %s", d)
	}
	for v, want := range map[string]bool{"1": true, "yes": true, "TRUE": true, "on": true, "0": false, "": false, "no": false} {
		t.Setenv("HF_HUB_OFFLINE", v)
		if IsOffline() != want {
			t.Errorf("HF_HUB_OFFLINE=%q", v)
		}
	}
	t.Setenv("HF_ENDPOINT", "https://mirror.example/")
	t.Setenv("HF_TOKEN", "tok")
	if c := NewClient(); c.Endpoint != "https://mirror.example" || c.Token != "tok" || c.Cache.Dir != "/direct" {
		t.Errorf("client %+v", c)
	}
}

// A cache written by Python (same layout) is found without the network.
func TestReadsPythonCache(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "models--dandelin--vilt-b32-mlm")
	os.MkdirAll(filepath.Join(repo, "blobs"), 0o755)
	os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
	snap := filepath.Join(repo, "snapshots", commitA)
	os.MkdirAll(snap, 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commitA), 0o644)
	for name, etag := range map[string]string{"config.json": "c0ffee", "pytorch_model.bin": strings.Repeat("ab", 32)} {
		os.WriteFile(filepath.Join(repo, "blobs", etag), []byte(name), 0o644)
		if symlinksWork(t) {
			os.Symlink(filepath.Join("..", "..", "blobs", etag), filepath.Join(snap, name))
		} else { // what huggingface_hub writes on Windows without developer mode
			os.WriteFile(filepath.Join(snap, name), []byte(name), 0o644)
		}
	}
	c := &Client{Cache: Cache{Dir: dir}, Offline: true}
	got, err := c.Locate(context.Background(), "dandelin/vilt-b32-mlm", false)
	if err != nil || got != snap {
		t.Errorf("Locate: %s %v", got, err)
	}
	if _, err := c.Locate(context.Background(), "dandelin/vilt-b32-mlm@v2", false); !errors.Is(err, ErrOffline) {
		t.Errorf("unknown revision offline: %v", err)
	}
	if got, err := c.Locate(context.Background(), dir, false); err != nil || got != dir {
		t.Errorf("a folder: %s %v", got, err)
	}
}

func TestFormatProgress(t *testing.T) {
	s := FormatProgress(Progress{File: "pytorch_model.bin", Done: 50 << 20, Total: 100 << 20, Elapsed: time.Second}, 10)
	if !strings.Contains(s, "[=====>    ]") || !strings.Contains(s, " 50%") || !strings.Contains(s, "50.0 MB/s") || strings.HasSuffix(s, "\n") {
		t.Errorf("%q", s)
	}
	if s := FormatProgress(Progress{File: "x", Done: 5, Total: 5}, 4); !strings.HasSuffix(s, "\n") {
		t.Errorf("complete: %q", s)
	}
	if TerminalProgress(&bytes.Buffer{}) != nil {
		t.Error("a buffer is not a terminal")
	}
}

// symlinksWork reports whether this system creates symlinks that resolve (Windows needs
// developer mode; Wine reports success and creates nothing).
func symlinksWork(t *testing.T) bool {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "target"), nil, 0o644)
	if os.Symlink("target", filepath.Join(dir, "link")) != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "link"))
	return err == nil
}
