package serve

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// histogram is a Prometheus histogram (cumulative buckets written at exposition).
type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds ...float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v
	h.counts[i]++
	h.sum += v
	h.n++
}

func (h *histogram) write(w io.Writer, name, labels string) {
	var cum uint64
	sep := ""
	if labels != "" {
		sep = ","
	}
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{%s%sle=\"%s\"} %d\n", name, labels, sep, formatFloat(b), cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(w, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, labels, sep, cum)
	if labels != "" {
		labels = "{" + labels + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %s\n", name, labels, formatFloat(h.sum))
	fmt.Fprintf(w, "%s_count%s %d\n", name, labels, h.n)
}

func formatFloat(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var latencyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// metrics are the server's counters, exposed in Prometheus text format.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64 // (route, code)
	latency  map[string]*histogram
	batch    *histogram
	forward  *histogram
	batchErr uint64
	examples uint64
}

func newMetrics() *metrics {
	return &metrics{
		requests: map[[2]string]uint64{},
		latency:  map[string]*histogram{},
		batch:    newHistogram(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64),
		forward:  newHistogram(latencyBounds...),
	}
}

func (m *metrics) request(route string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{route, strconv.Itoa(code)}]++
	h, ok := m.latency[route]
	if !ok {
		h = newHistogram(latencyBounds...)
		m.latency[route] = h
	}
	h.observe(d.Seconds())
}

func (m *metrics) batchDone(size int, d time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batch.observe(float64(size))
	m.forward.observe(d.Seconds())
	m.examples += uint64(size)
	if err != nil {
		m.batchErr++
	}
}

// gauge is one extra sample written with the metrics.
type gauge struct {
	name, help, labels string
	value              float64
}

func (m *metrics) write(w io.Writer, gauges []gauge) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP vilt_http_requests_total HTTP requests by route and status code.")
	fmt.Fprintln(w, "# TYPE vilt_http_requests_total counter")
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(w, "vilt_http_requests_total{route=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	fmt.Fprintln(w, "# HELP vilt_http_request_duration_seconds Request latency by route.")
	fmt.Fprintln(w, "# TYPE vilt_http_request_duration_seconds histogram")
	routes := make([]string, 0, len(m.latency))
	for r := range m.latency {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, r := range routes {
		m.latency[r].write(w, "vilt_http_request_duration_seconds", fmt.Sprintf("route=%q", r))
	}
	fmt.Fprintln(w, "# HELP vilt_batch_size Examples per model forward (dynamic batching).")
	fmt.Fprintln(w, "# TYPE vilt_batch_size histogram")
	m.batch.write(w, "vilt_batch_size", "")
	fmt.Fprintln(w, "# HELP vilt_forward_duration_seconds Duration of one batched forward.")
	fmt.Fprintln(w, "# TYPE vilt_forward_duration_seconds histogram")
	m.forward.write(w, "vilt_forward_duration_seconds", "")
	fmt.Fprintln(w, "# HELP vilt_examples_total Examples (image-text pairs) run.")
	fmt.Fprintln(w, "# TYPE vilt_examples_total counter")
	fmt.Fprintf(w, "vilt_examples_total %d\n", m.examples)
	fmt.Fprintln(w, "# HELP vilt_batch_errors_total Batched forwards that failed.")
	fmt.Fprintln(w, "# TYPE vilt_batch_errors_total counter")
	fmt.Fprintf(w, "vilt_batch_errors_total %d\n", m.batchErr)
	last := ""
	for _, g := range gauges {
		if g.name != last {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", g.name, g.help, g.name)
			last = g.name
		}
		if g.labels != "" {
			fmt.Fprintf(w, "%s{%s} %s\n", g.name, g.labels, formatFloat(g.value))
		} else {
			fmt.Fprintf(w, "%s %s\n", g.name, formatFloat(g.value))
		}
	}
}

// promLabel quotes a label value.
func promLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
