package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
	"github.com/vilt-vk/vilt-vk/vilt"
)

// demoServer serves the shipped demo model on a loopback httptest server.
func demoServer(t *testing.T) (*httptest.Server, *vilt.Pipeline) {
	t.Helper()
	d := gputest.Device(t)
	p, err := vilt.Load(context.Background(), demoModel, vilt.LoadOptions{Devices: []*gpu.Device{d}})
	if err != nil {
		t.Fatal(err)
	}
	s := New(p, Options{Logger: nil})
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close(); p.Close() })
	return ts, p
}

// TestPageAndInfo: GET / is the embedded page, self-contained (no URL outside this server),
// and /v1/info names the route the page must use.
func TestPageAndInfo(t *testing.T) {
	s := New(nil, Options{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(page, []byte("/v1/info")) {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).Find(page); m != nil {
		t.Errorf("the page refers to an outside address %q: it must work offline", m)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	// Every input the page builds has a label: labels for= ids the script creates.
	for _, id := range []string{"topk", "method"} {
		if !bytes.Contains(page, []byte(`for="`+id+`"`)) {
			t.Errorf("no label for #%s", id)
		}
	}
	if resp, err := http.Get(ts.URL + "/nope"); err != nil || resp.StatusCode != 404 {
		t.Errorf("GET /nope: %v %v", resp.StatusCode, err)
	}
	var in Info
	resp, err = http.Get(ts.URL + "/v1/info")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&in)
	resp.Body.Close()
	if in.Ready || in.Task != "" {
		t.Errorf("info without a model: %+v", in)
	}
}

// TestExplainRequest: "explain" in JSON and multipart bodies returns patch maps; bad
// explain values are refused in words.
func TestExplainRequest(t *testing.T) {
	ts, _ := demoServer(t)
	c := &http.Client{Timeout: 60 * time.Second}
	var in Info
	resp, err := c.Get(ts.URL + "/v1/info")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&in)
	resp.Body.Close()
	if !in.Ready || in.Task != "vqa" || in.Route != "/v1/vqa" {
		t.Fatalf("info %+v", in)
	}
	img, err := os.ReadFile(demoModel + "/example.png")
	if err != nil {
		t.Fatal(err)
	}
	code, body, hdr := post(t, c, ts.URL+"/v1/vqa", map[string]any{"image": b64(img), "question": "How many cats are there?", "top_k": 2, "explain": true})
	var items []VQAItem
	if code != 200 || json.Unmarshal(body, &items) != nil || len(items) != 1 {
		t.Fatalf("%d %s", code, body)
	}
	m := items[0].Explanation
	if m == nil || m.Rows != 12 || m.Cols != 16 || m.ImageWidth != 320 || m.Method != "rollout" || len(items[0].Answers) != 2 {
		t.Fatalf("explanation %+v", items[0])
	}
	if !strings.HasPrefix(hdr.Get("Server-Timing"), "task;dur=") {
		t.Errorf("Server-Timing %q", hdr.Get("Server-Timing"))
	}

	// Multipart, as the page sends it.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("image", "example.png")
	fw.Write(img)
	mw.WriteField("question", "How many cats are there?")
	mw.WriteField("explain", "true")
	mw.WriteField("explain_method", "last-layer")
	mw.Close()
	resp, err = c.Post(ts.URL+"/v1/vqa", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	items = nil
	if resp.StatusCode != 200 || json.Unmarshal(body, &items) != nil || len(items) != 1 || items[0].Explanation == nil || items[0].Explanation.Method != "last-layer" || items[0].Name != "example.png" {
		t.Fatalf("multipart: %d %s", resp.StatusCode, body)
	}

	for _, bad := range []map[string]any{
		{"image": b64(img), "question": "q", "explain": true, "explain_method": "saliency"},
		{"image": b64(img), "question": "q", "explain_method": "rollout"},
	} {
		code, body, _ := post(t, c, ts.URL+"/v1/vqa", bad)
		if code != 400 || !bytes.Contains(body, []byte("explain_method")) {
			t.Errorf("%v: %d %s", bad, code, body)
		}
	}
	many := map[string]any{"image": b64(img), "questions": strings.Split(strings.Repeat("q,", MaxExplainPictures+1), ",")[:MaxExplainPictures+1], "explain": true}
	if code, body, _ := post(t, c, ts.URL+"/v1/vqa", many); code != 413 {
		t.Errorf("too many pictures: %d %s", code, body)
	}
}
