package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/vilt"
)

const goldenModels = "../../shared/golden/models"

// testPipeline loads a golden tiny model with a small image size (shortest edge 64) so the
// load test stays fast on lavapipe.
func testPipeline(t *testing.T, d *gpu.Device, name string) *vilt.Pipeline {
	t.Helper()
	dir := filepath.Join(goldenModels, name)
	if _, err := os.Stat(dir); err != nil {
		t.Skip("../shared/golden not present")
	}
	p, err := vilt.Load(context.Background(), dir, vilt.LoadOptions{Devices: []*gpu.Device{d}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	o := p.Processor.Images.Options()
	o.ShortestEdge = 64
	ip, err := processor.NewImageProcessor(o)
	if err != nil {
		t.Fatal(err)
	}
	p.Processor.Images = ip
	return p
}

// pngBytes draws a w×h test picture.
func pngBytes(t testing.TB, w, h, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x*7 + seed*50), uint8(y*5 + seed*20), uint8((x + y) * 3), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func post(t testing.TB, c *http.Client, url string, body any) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	resp, err := c.Post(url, "application/json", rd)
	if err != nil {
		t.Error(err)
		return 0, nil, nil
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header
}

func TestServerVQALoad(t *testing.T) {
	d := gputest.Device(t)
	p := testPipeline(t, d, "tiny-vilt-p32-vqa")
	s := New(p, Options{MaxBatch: 8, MaxWait: 5 * time.Millisecond, Queue: 256})
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Close()
	c := &http.Client{Timeout: 60 * time.Second}

	imgs := []string{b64(pngBytes(t, 64, 48, 1)), b64(pngBytes(t, 48, 80, 2)), b64(pngBytes(t, 70, 70, 3))}
	qs := []string{"How many cats are there?", "what color is the couch on the left?", "cats?", "is it a dog"}
	type key struct{ i, j int }
	seq := map[key][]vilt.Answer{}
	for i, im := range imgs {
		for j, q := range qs {
			code, body, _ := post(t, c, ts.URL+"/v1/vqa", map[string]any{"image": im, "question": q, "top_k": 3})
			if code != 200 {
				t.Fatalf("sequential request: %d %s", code, body)
			}
			var a []vilt.Answer
			if err := json.Unmarshal(body, &a); err != nil || len(a) != 3 {
				t.Fatalf("answer %s: %v", body, err)
			}
			seq[key{i, j}] = a
		}
	}
	// The library, unbatched, gives the same answers.
	raw, _ := base64.StdEncoding.DecodeString(imgs[0])
	img0, _ := processor.DecodeImageBytes(raw, processor.DecodeOptions{})
	lib, err := p.VQA(context.Background(), []*processor.RGBImage{img0}, qs[:1], 3)
	if err != nil {
		t.Fatal(err)
	}
	compareAnswers(t, "library vs server", lib[0], seq[key{0, 0}])

	const clients, perClient = 64, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := 0
	start := time.Now()
	for cl := 0; cl < clients; cl++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < perClient; r++ {
				i, j := (cl+r)%len(imgs), (cl*3+r)%len(qs)
				code, body, _ := post(t, c, ts.URL+"/v1/vqa", map[string]any{"image": imgs[i], "question": qs[j], "top_k": 3})
				var a []vilt.Answer
				if code != 200 || json.Unmarshal(body, &a) != nil {
					mu.Lock()
					errs++
					if errs < 5 {
						t.Errorf("client %d request %d: %d %s", cl, r, code, body)
					}
					mu.Unlock()
					continue
				}
				compareAnswers(t, fmt.Sprintf("client %d request %d", cl, r), a, seq[key{i, j}])
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if errs > 0 {
		t.Fatalf("%d errors", errs)
	}
	t.Logf("%d requests in %v: %.0f req/s", clients*perClient, el, float64(clients*perClient)/el.Seconds())
	m := scrape(t, c, ts.URL)
	n1, n := m[`vilt_batch_size_bucket{le="1"}`], m["vilt_batch_size_count"]
	t.Logf("batches: %v, of size 1: %v, mean size %.2f", n, n1, m["vilt_batch_size_sum"]/n)
	if n1 >= n {
		t.Errorf("no batch had more than one example (%v batches)", n)
	}
	if got := m[`vilt_http_requests_total{code="200",route="/v1/vqa"}`]; got != float64(clients*perClient+len(imgs)*len(qs)) {
		t.Errorf("requests_total 200 = %v", got)
	}
	for _, name := range []string{"vilt_queue_depth", `vilt_http_request_duration_seconds_count{route="/v1/vqa"}`, "vilt_ready"} {
		if _, ok := m[name]; !ok {
			t.Errorf("metrics lack %s", name)
		}
	}
	found := false
	for k := range m {
		if strings.HasPrefix(k, "vilt_device_memory_used_bytes{") {
			found = true
		}
	}
	if !found {
		t.Error("metrics lack device memory")
	}

	// Several images and questions in one request: every pair, image-major.
	code, body, _ := post(t, c, ts.URL+"/v1/vqa", map[string]any{"images": imgs[:2], "questions": qs[:2], "top_k": 3})
	var items []VQAItem
	if code != 200 || json.Unmarshal(body, &items) != nil || len(items) != 4 {
		t.Fatalf("multi: %d %s", code, body)
	}
	for k, it := range items {
		compareAnswers(t, "multi", it.Answers, seq[key{k / 2, k % 2}])
	}

	// Multipart gives the same answer as JSON.
	var mb bytes.Buffer
	mw := multipart.NewWriter(&mb)
	fw, _ := mw.CreateFormFile("image", "a.png")
	raw1, _ := base64.StdEncoding.DecodeString(imgs[1])
	fw.Write(raw1)
	mw.WriteField("question", qs[2])
	mw.WriteField("top_k", "3")
	mw.Close()
	resp, err := c.Post(ts.URL+"/v1/vqa", mw.FormDataContentType(), &mb)
	if err != nil {
		t.Fatal(err)
	}
	mbody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ma []vilt.Answer
	if resp.StatusCode != 200 || json.Unmarshal(mbody, &ma) != nil {
		t.Fatalf("multipart: %d %s", resp.StatusCode, mbody)
	}
	compareAnswers(t, "multipart", ma, seq[key{1, 2}])
}

func compareAnswers(t *testing.T, what string, got, want []vilt.Answer) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, want %v", what, got, want)
		return
	}
	for k := range got {
		if got[k].Answer != want[k].Answer || math.Abs(got[k].Score-want[k].Score) > 1e-5 {
			t.Errorf("%s: %v, want %v", what, got, want)
			return
		}
	}
}

// scrape reads /metrics into name{labels} → value.
func scrape(t *testing.T, c *http.Client, url string) map[string]float64 {
	t.Helper()
	resp, err := c.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("metrics Content-Type %q", ct)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Errorf("metrics line %q", line)
			continue
		}
		m[line[:i]] = v
	}
	return m
}

func TestServerErrors(t *testing.T) {
	d := gputest.Device(t)
	p := testPipeline(t, d, "tiny-vilt-p32-vqa")
	var logBuf syncBuffer
	logger := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := New(p, Options{MaxPixels: 100_000, MaxTextBytes: 300, MaxBodyBytes: 1 << 20, Logger: logger})
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Close()
	c := &http.Client{Timeout: 30 * time.Second}
	good := map[string]any{"image": b64(pngBytes(t, 64, 48, 1)), "question": "how many?"}
	abs, err := filepath.Abs(p.Dir)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("cat ", 100)
	cases := []struct {
		name string
		path string
		body any
		code int
		msg  string
	}{
		{"malformed JSON", "/v1/vqa", `{"image": "abc", "question": `, 400, "malformed JSON"},
		{"unknown field", "/v1/vqa", `{"img": "abc"}`, 400, "unknown field"},
		{"bad base64", "/v1/vqa", map[string]any{"image": "!!!not base64***", "question": "q"}, 400, "base64"},
		{"not an image", "/v1/vqa", map[string]any{"image": b64([]byte("hello, I am not a picture")), "question": "q"}, 415, "unsupported image"},
		{"corrupt png", "/v1/vqa", map[string]any{"image": b64(pngBytes(t, 20, 20, 1)[:60]), "question": "q"}, 400, "image"},
		{"huge image", "/v1/vqa", map[string]any{"image": b64(pngBytes(t, 400, 300, 1)), "question": "q"}, 413, "too large"},
		{"URL", "/v1/vqa", map[string]any{"image": "https://example.com/cat.png", "question": "q"}, 400, "not fetched"},
		{"too many tokens", "/v1/vqa", map[string]any{"image": good["image"], "question": long[:200]}, 400, "too long"},
		{"too many bytes", "/v1/vqa", map[string]any{"image": good["image"], "question": long}, 413, "bytes"},
		{"no question", "/v1/vqa", map[string]any{"image": good["image"]}, 400, "question"},
		{"body too large", "/v1/vqa", map[string]any{"image": strings.Repeat("A", 2<<20), "question": "q"}, 413, "too large"},
		{"wrong head", "/v1/nlvr2", map[string]any{"images": []string{good["image"].(string), good["image"].(string)}, "text": "t"}, 404, "ViltForImagesAndTextClassification"},
	}
	for _, tc := range cases {
		code, body, _ := post(t, c, ts.URL+tc.path, tc.body)
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(body, &e)
		if code != tc.code || !strings.Contains(strings.ToLower(e.Error), strings.ToLower(tc.msg)) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, code, body, tc.code, tc.msg)
		}
		if noServerPath(t, tc.name, body, p.Dir, abs); tc.name == "wrong head" && !strings.Contains(e.Error, p.Name) {
			t.Errorf("wrong head: %s does not name the model %q", body, p.Name)
		}
		// The server keeps serving.
		if code, body, _ := post(t, c, ts.URL+"/v1/vqa", good); code != 200 {
			t.Fatalf("after %s: %d %s", tc.name, code, body)
		}
	}
	resp, err := c.Get(ts.URL + "/v1/vqa")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /v1/vqa: %d", resp.StatusCode)
		}
	}
	if resp, err := c.Get(ts.URL + "/readyz"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		noServerPath(t, "readyz", body, p.Dir, abs)
	}
	// An internal error that names a file of the model folder reaches the client without it.
	for _, dir := range []string{p.Dir, abs} {
		rec := httptest.NewRecorder()
		s.writeError(rec, 500, fmt.Errorf("read %s: device lost", filepath.Join(dir, "config.json")))
		noServerPath(t, "internal error", rec.Body.Bytes(), p.Dir, abs)
		if !strings.Contains(rec.Body.String(), p.Name+"/config.json") {
			t.Errorf("internal error body %s: want the path replaced by the model name", rec.Body)
		}
	}
	ts.Close() // waits for the handlers, so the log is complete
	if !strings.Contains(logBuf.String(), p.Dir) {
		t.Errorf("the log does not keep the model path %s", p.Dir)
	}
}

// noServerPath fails when an HTTP body contains the model folder's path.
func noServerPath(t *testing.T, what string, body []byte, paths ...string) {
	t.Helper()
	for _, dir := range paths {
		if strings.Contains(string(body), dir) || strings.Contains(string(body), "shared/golden") {
			t.Errorf("%s: body %s names the server path %s", what, body, dir)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServerQueueFull(t *testing.T) {
	d := gputest.Device(t)
	p := testPipeline(t, d, "tiny-vilt-p32-vqa")
	s := New(p, Options{MaxBatch: 1, MaxWait: -1, Queue: 2, Workers: 1})
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Close()
	c := &http.Client{Timeout: 30 * time.Second}
	img := b64(pngBytes(t, 64, 48, 1))
	// More pairs than the queue holds: the request enters the queue in parts.
	code, body, _ := post(t, c, ts.URL+"/v1/vqa", map[string]any{"image": img, "questions": []string{"a", "b", "c"}})
	if code != 200 {
		t.Errorf("3 pairs with queue 2: %d %s", code, body)
	}
	_, b := s.state()
	if _, err := b.Run(context.Background(), make([]vilt.Example, 3)); err == nil || StatusOf(err) != 413 {
		t.Errorf("3 examples into a queue of 2: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	retryAfter := ""
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, h := post(t, c, ts.URL+"/v1/vqa", map[string]any{"image": img, "question": "how many cats?"})
			mu.Lock()
			codes[code]++
			if code == 429 {
				retryAfter = h.Get("Retry-After")
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[429] == 0 || codes[200] == 0 || codes[200]+codes[429] != 40 {
		t.Errorf("status counts %v: want some 200 and some 429, nothing else", codes)
	}
	if codes[429] > 0 && retryAfter == "" {
		t.Error("429 without Retry-After")
	}
	if code, body, _ := post(t, c, ts.URL+"/v1/vqa", map[string]any{"image": img, "question": "q"}); code != 200 {
		t.Errorf("after the burst: %d %s", code, body)
	}
}

func TestServerHealthAndDrain(t *testing.T) {
	s := New(nil, Options{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	c := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) int {
		resp, err := c.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get("/healthz") != 200 || get("/readyz") != 503 {
		t.Error("before the model: want healthz 200, readyz 503")
	}
	if code, _, h := post(t, c, ts.URL+"/v1/vqa", map[string]any{"image": "x", "question": "q"}); code != 503 || h.Get("Retry-After") == "" {
		t.Errorf("task before the model: %d", code)
	}
	d := gputest.Device(t)
	p := testPipeline(t, d, "tiny-vilt-p32-vqa")
	s.SetPipeline(p)
	if get("/readyz") != 200 {
		t.Error("readyz after SetPipeline")
	}
	s.Drain()
	if get("/readyz") != 503 {
		t.Error("readyz while draining")
	}
	if code, _, _ := post(t, c, ts.URL+"/v1/vqa", map[string]any{"image": b64(pngBytes(t, 64, 48, 1)), "question": "q"}); code != 503 {
		t.Errorf("task while draining: %d", code)
	}
	s.Close()
}

func TestServerOtherTasks(t *testing.T) {
	d := gputest.Device(t)
	c := &http.Client{Timeout: 30 * time.Second}
	img := b64(pngBytes(t, 64, 48, 1))
	img2 := b64(pngBytes(t, 60, 50, 2))

	run := func(model, path string, body any, check func([]byte)) {
		p := testPipeline(t, d, model)
		s := New(p, Options{})
		ts := httptest.NewServer(s)
		defer ts.Close()
		defer s.Close()
		code, out, _ := post(t, c, ts.URL+path, body)
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, out)
		}
		check(out)
	}
	run("tiny-vilt-p32-mlm", "/v1/fill-mask", map[string]any{"image": img, "text": "a bunch of [MASK] laying on a [MASK].", "top_k": 2}, func(b []byte) {
		var r vilt.FillMaskResult
		if json.Unmarshal(b, &r) != nil || len(r.Steps) != 2 || len(r.Steps[0].Candidates) != 2 || strings.Contains(r.Sequence, "[MASK]") {
			t.Errorf("fill-mask: %s", b)
		}
	})
	run("tiny-vilt-p32-nlvr2", "/v1/nlvr2", map[string]any{"images": []string{img, img2}, "text": "two cats"}, func(b []byte) {
		var r vilt.NLVR2Result
		if json.Unmarshal(b, &r) != nil || (r.Label != "True" && r.Label != "False") || len(r.Scores) != 2 {
			t.Errorf("nlvr2: %s", b)
		}
	})
	run("tiny-vilt-p32-retrieval", "/v1/rank", map[string]any{"images": []string{img, img2}, "texts": []string{"a cat", "a dog", "two cats"}, "top_k": 2}, func(b []byte) {
		var r vilt.RankResult
		if json.Unmarshal(b, &r) != nil || len(r.Scores) != 2 || len(r.Scores[0]) != 3 || len(r.ImageToTexts[0]) != 2 || len(r.TextToImages) != 3 {
			t.Errorf("rank: %s", b)
		}
	})
}

// TestBatcherCancel: when the caller goes away, its queued examples are dropped, not run.
func TestBatcherCancel(t *testing.T) {
	d := gputest.Device(t)
	p := testPipeline(t, d, "tiny-vilt-p32-vqa")
	b := NewBatcher(p, 1, 0, 100, 1)
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	ran := 0
	b.observe = func(size int, _ time.Duration, _ error) {
		mu.Lock()
		ran += size
		mu.Unlock()
		cancel()
	}
	raw, _ := base64.StdEncoding.DecodeString(b64(pngBytes(t, 64, 48, 1)))
	img, err := processor.DecodeImageBytes(raw, processor.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tk := &vilt.Tasks{P: p, Run: b.Run}
	qs := make([]string, 40)
	for i := range qs {
		qs[i] = fmt.Sprintf("question %d?", i)
	}
	_, err = tk.VQA(ctx, []*processor.RGBImage{img}, qs, 1)
	if err != context.Canceled {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if ran > 3 {
		t.Errorf("%d of 40 examples ran after the caller went away", ran)
	}
	if b.Depth() != 0 {
		t.Errorf("queue depth %d after the cancelled examples", b.Depth())
	}
}

func TestServerTimeout(t *testing.T) {
	d := gputest.Device(t)
	p := testPipeline(t, d, "tiny-vilt-p32-vqa")
	s := New(p, Options{Timeout: time.Nanosecond})
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Close()
	code, body, _ := post(t, http.DefaultClient, ts.URL+"/v1/vqa", map[string]any{"image": b64(pngBytes(t, 64, 48, 1)), "question": "q"})
	if code != http.StatusGatewayTimeout {
		t.Errorf("%d %s, want 504", code, body)
	}
}

func TestBatchSizes(t *testing.T) {
	b := &Batcher{maxBatch: 8}
	for n, want := range map[int]int{1: 1, 2: 2, 3: 2, 5: 4, 7: 4, 8: 8, 20: 8} {
		if got := b.batchSize(n); got != want {
			t.Errorf("batchSize(%d) = %d, want %d", n, got, want)
		}
	}
	b.maxBatch = 6
	if got := b.batchSize(7); got != 6 {
		t.Errorf("max 6: batchSize(7) = %d", got)
	}
}
