package serve

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vilt-vk/vilt-vk/internal/buildinfo"
)

// build is the running binary's version: the vilt_build_info metric and the Server header.
var build = buildinfo.Read()

var latencyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// metrics are the server's Prometheus metrics. They live on a registry of the server's own,
// not the global default one, so several servers in one process (tests, an embedding
// program) neither collide nor publish each other's counts. The registry also carries the
// standard go_* and process_* collectors every Prometheus user expects.
type metrics struct {
	reg      *prometheus.Registry
	handler  http.Handler
	requests *prometheus.CounterVec   // route, code
	latency  *prometheus.HistogramVec // route
	batch    prometheus.Histogram
	forward  prometheus.Histogram
	examples prometheus.Counter
	batchErr prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vilt_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vilt_http_request_duration_seconds", Help: "Request latency by route.", Buckets: latencyBounds,
		}, []string{"route"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vilt_batch_size", Help: "Examples per model forward (dynamic batching).",
			Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64},
		}),
		forward: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vilt_forward_duration_seconds", Help: "Duration of one batched forward.", Buckets: latencyBounds,
		}),
		examples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vilt_examples_total", Help: "Examples (image-text pairs) run.",
		}),
		batchErr: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vilt_batch_errors_total", Help: "Batched forwards that failed.",
		}),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vilt_build_info", Help: "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": build.Version, "revision": build.Revision, "goversion": build.GoVersion},
	})
	info.Set(1)
	m.reg.MustRegister(m.requests, m.latency, m.batch, m.forward, m.examples, m.batchErr, info,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	return m
}

func (m *metrics) request(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) batchDone(size int, d time.Duration, err error) {
	m.batch.Observe(float64(size))
	m.forward.Observe(d.Seconds())
	m.examples.Add(float64(size))
	if err != nil {
		m.batchErr.Inc()
	}
}

// watch exports the state of s (readiness, queue, device memory), read at each scrape.
func (m *metrics) watch(s *Server) { m.reg.MustRegister(stateCollector{s}) }

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	s.metrics.handler.ServeHTTP(w, r)
}

var (
	readyDesc    = prometheus.NewDesc("vilt_ready", "1 when the model is loaded and the server takes requests.", nil, nil)
	inflightDesc = prometheus.NewDesc("vilt_requests_in_flight", "Task requests being handled.", nil, nil)
	depthDesc    = prometheus.NewDesc("vilt_queue_depth", "Examples waiting for a forward.", nil, nil)
	capDesc      = prometheus.NewDesc("vilt_queue_capacity", "Examples the queue holds at most.", nil, nil)
	deviceLabels = []string{"device", "name"}
	memUsedDesc  = prometheus.NewDesc("vilt_device_memory_used_bytes", "Device memory in use.", deviceLabels, nil)
	memResDesc   = prometheus.NewDesc("vilt_device_memory_reserved_bytes", "Device memory allocated from the driver.", deviceLabels, nil)
	memPeakDesc  = prometheus.NewDesc("vilt_device_memory_peak_bytes", "Peak device memory in use.", deviceLabels, nil)
)

// stateCollector reads the server's gauges when scraped.
type stateCollector struct{ s *Server }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{readyDesc, inflightDesc, depthDesc, capDesc, memUsedDesc, memResDesc, memPeakDesc} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	p, b := c.s.state()
	ready := 0.0
	if p != nil && !c.s.draining.Load() {
		ready = 1
	}
	gauge(readyDesc, ready)
	gauge(inflightDesc, float64(c.s.inflight.Load()))
	if b != nil {
		gauge(depthDesc, float64(b.Depth()))
		gauge(capDesc, float64(b.Capacity()))
	} else {
		gauge(depthDesc, 0)
	}
	if p == nil {
		return
	}
	for i, d := range p.Model.Devices() {
		st := d.MemoryStats()
		lv := []string{strconv.Itoa(i), d.Info().Name}
		gauge(memUsedDesc, float64(st.Used), lv...)
		gauge(memResDesc, float64(st.Reserved), lv...)
		gauge(memPeakDesc, float64(st.Peak), lv...)
	}
}
