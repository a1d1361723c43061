package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/gpu/gputest"
	"github.com/vilt-vk/vilt-vk/vilt"
)

// demoModel is the tiny VQA model shipped with the repository (random weights).
const demoModel = "../testdata/tiny-vilt-vqa"

// TestMetricsExposition checks /metrics of a server still loading its model and of one that
// served requests: our metrics with their labels, the build info, the Go runtime and process
// collectors, the Server header, and that promtool accepts the exposition.
func TestMetricsExposition(t *testing.T) {
	d := gputest.Device(t)
	p, err := vilt.Load(context.Background(), demoModel, vilt.LoadOptions{Devices: []*gpu.Device{d}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	img, err := os.ReadFile(demoModel + "/example.png")
	if err != nil {
		t.Fatal(err)
	}
	buildInfo := fmt.Sprintf(`vilt_build_info{goversion=%q,revision=%q,version=%q}`, build.GoVersion, build.Revision, build.Version)
	common := []string{buildInfo, "vilt_ready", "vilt_requests_in_flight", "vilt_queue_depth",
		"go_goroutines", "go_memstats_heap_alloc_bytes", `go_gc_duration_seconds{quantile="0.5"}`, "go_info{version=\"" + build.GoVersion + "\"}",
		"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"}
	for _, tc := range []struct {
		name     string
		pipeline *vilt.Pipeline
		want     map[string]float64 // exact values; -1: present and > 0
	}{
		{"loading", nil, map[string]float64{"vilt_ready": 0, "vilt_queue_depth": 0, buildInfo: 1}},
		{"serving", p, map[string]float64{
			"vilt_ready": 1, buildInfo: 1, "vilt_queue_capacity": 256, "vilt_examples_total": 1, "vilt_batch_errors_total": 0,
			`vilt_http_requests_total{code="200",route="/v1/vqa"}`:                              1,
			`vilt_http_requests_total{code="400",route="/v1/vqa"}`:                              1,
			`vilt_http_request_duration_seconds_count{route="/v1/vqa"}`:                         2,
			`vilt_batch_size_bucket{le="1"}`:                                                    1,
			`vilt_batch_size_count`:                                                             1,
			`vilt_forward_duration_seconds_count`:                                               1,
			fmt.Sprintf(`vilt_device_memory_used_bytes{device="0",name=%q}`, d.Info().Name):     -1,
			fmt.Sprintf(`vilt_device_memory_reserved_bytes{device="0",name=%q}`, d.Info().Name): -1,
			fmt.Sprintf(`vilt_device_memory_peak_bytes{device="0",name=%q}`, d.Info().Name):     -1,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.pipeline, Options{})
			ts := httptest.NewServer(s)
			defer ts.Close()
			defer s.Close()
			c := &http.Client{Timeout: 60 * time.Second}
			if tc.pipeline != nil {
				code, body, hdr := post(t, c, ts.URL+"/v1/vqa", map[string]any{"image": b64(img), "question": "How many cats are there?"})
				if code != 200 {
					t.Fatalf("vqa: %d %s", code, body)
				}
				if got := hdr.Get("Server"); got != build.Product() || !strings.HasPrefix(got, "vilt/") {
					t.Errorf("Server header %q, want %q", got, build.Product())
				}
				if code, body, _ := post(t, c, ts.URL+"/v1/vqa", map[string]any{"question": "no image?"}); code != 400 {
					t.Fatalf("vqa without image: %d %s", code, body)
				}
			}
			m := scrape(t, c, ts.URL)
			for _, k := range common {
				if _, ok := m[k]; !ok {
					t.Errorf("metrics lack %s", k)
				}
			}
			for k, v := range tc.want {
				got, ok := m[k]
				switch {
				case !ok:
					t.Errorf("metrics lack %s", k)
				case v < 0 && got <= 0, v >= 0 && got != v:
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}

			resp, err := c.Get(ts.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			text, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.Header.Get("Server") != build.Product() {
				t.Errorf("/metrics Server header %q", resp.Header.Get("Server"))
			}
			promtool, err := exec.LookPath("promtool")
			if err != nil {
				t.Skip("promtool not installed (make setup-promtool): exposition not linted")
			}
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = bytes.NewReader(text)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("promtool check metrics: %v\n%s\n--- exposition:\n%s", err, out, text)
			}
		})
	}
}
