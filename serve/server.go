// Package serve is the ViLT HTTP server: task endpoints shaped like transformers'
// pipelines, dynamic batching of concurrent requests into shared forwards, limits, a
// bounded queue, health checks and Prometheus metrics.
//
// Routes (POST, JSON with base64 images or multipart/form-data with image files):
//
//	/v1/vqa        {"image"|"images", "question"|"questions", "top_k"}
//	/v1/fill-mask  {"image", "text", "top_k"}
//	/v1/nlvr2      {"images": [left, right], "text"}
//	/v1/rank       {"images", "texts", "top_k"}
//
// GET /healthz (the process is up), /readyz (the model is loaded and the server is not
// shutting down), /metrics (Prometheus text format). Images are never fetched from URLs:
// clients send the bytes. GET / is a page for people and "explain" adds heatmaps (page.go,
// explain.go).
package serve

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/vilt"
	"github.com/vilt-vk/vilt-vk/weights"
)

// Options configure a Server. Zero values take the defaults in brackets.
type Options struct {
	MaxBatch int           // examples per forward [8]
	MaxWait  time.Duration // how long the oldest queued example waits for others [5ms]; <0 means 0
	Queue    int           // examples waiting at most; beyond it requests get 429 [256]
	// Workers run batches [1]. One worker forms the next batch from everything that queued
	// while the device was busy (a forward already uses all the model's devices); more
	// overlap host work but commit to smaller batches early.
	Workers int

	MaxBodyBytes int64         // request body [32 MiB]
	MaxPixels    int64         // pixels per decoded image [40M]
	MaxTextBytes int           // bytes per text before tokenizing [2048]; tokens beyond the model's 40 are refused too
	MaxImages    int           // images per request [32]
	MaxTexts     int           // texts/questions per request [64]
	Timeout      time.Duration // per request [60s]

	Logger *slog.Logger // nil: slog.Default()
}

func (o *Options) defaults() {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 8
	}
	if o.MaxWait == 0 {
		o.MaxWait = 5 * time.Millisecond
	}
	if o.MaxWait < 0 {
		o.MaxWait = 0
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = 40_000_000
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = 2048
	}
	if o.MaxImages <= 0 {
		o.MaxImages = 32
	}
	if o.MaxTexts <= 0 {
		o.MaxTexts = 64
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Server serves one model. It is an http.Handler.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	metrics *metrics
	log     *slog.Logger

	mu       sync.Mutex
	p        *vilt.Pipeline
	batcher  *Batcher
	draining atomic.Bool
	inflight atomic.Int64
}

// New returns a server for p. p may be nil: the server then answers /healthz and 503 on
// /readyz and the task routes until SetPipeline gives it a model.
func New(p *vilt.Pipeline, opts Options) *Server {
	opts.defaults()
	s := &Server{opts: opts, mux: http.NewServeMux(), metrics: newMetrics(), log: opts.Logger}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	s.mux.HandleFunc("POST /v1/vqa", s.task("vqa", s.vqa))
	s.mux.HandleFunc("POST /v1/fill-mask", s.task("fill-mask", s.fillMask))
	s.mux.HandleFunc("POST /v1/nlvr2", s.task("nlvr2", s.nlvr2))
	s.mux.HandleFunc("POST /v1/rank", s.task("rank", s.rank))
	s.metrics.watch(s)
	s.registerPage()
	if p != nil {
		s.SetPipeline(p)
	}
	return s
}

// SetPipeline installs the model (once) and starts the batcher; the server becomes ready.
func (s *Server) SetPipeline(p *vilt.Pipeline) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		return
	}
	b := NewBatcher(p, s.opts.MaxBatch, s.opts.MaxWait, s.opts.Queue, s.opts.Workers)
	b.observe = s.metrics.batchDone
	s.p, s.batcher = p, b
}

func (s *Server) state() (*vilt.Pipeline, *Batcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p, s.batcher
}

// Drain marks the server as shutting down: /readyz fails and new task requests get 503.
// Requests already in flight finish.
func (s *Server) Drain() { s.draining.Store(true) }

// Close drains and stops the batcher (call after http.Server.Shutdown returned).
func (s *Server) Close() {
	s.Drain()
	if _, b := s.state(); b != nil {
		b.Close()
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", build.Product())
	s.mux.ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	p, _ := s.state()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case s.draining.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "shutting down\n")
	case p == nil:
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "loading the model\n")
	default:
		fmt.Fprintf(w, "ready: %s on %s\n", modelLabel(p), strings.Join(p.Model.LoadInfo().Devices, ", "))
	}
}

// httpError is an error with a status code.
type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func errorf(code int, format string, a ...any) error {
	return &httpError{code: code, err: fmt.Errorf(format, a...)}
}

// statusClientClosed is nginx's code for a client that went away (metrics only).
const statusClientClosed = 499

// StatusOf maps an error to an HTTP status.
func StatusOf(err error) int {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.code
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrQueueFull):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrTooManyExamples), errors.Is(err, processor.ErrImageTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable
	case errors.Is(err, processor.ErrUnsupportedImage):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, processor.ErrCorruptImage), errors.Is(err, processor.ErrEmptyImage),
		errors.Is(err, processor.ErrImageTooThin), errors.Is(err, processor.ErrTextTooLong),
		errors.Is(err, vilt.ErrBadInput):
		return http.StatusBadRequest
	case errors.Is(err, vilt.ErrWrongHead):
		return http.StatusNotFound
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return statusClientClosed
	}
	return http.StatusInternalServerError
}

type taskFunc func(ctx context.Context, t *vilt.Tasks, req *request) (any, error)

// task wraps a route: readiness, limits, timeout, decoding, metrics and error replies.
func (s *Server) task(route string, fn taskFunc) http.HandlerFunc {
	path := "/v1/" + route
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.inflight.Add(1)
		defer s.inflight.Add(-1)
		code, err := s.handle(w, r, route, fn)
		attrs := []any{"route", path}
		if err != nil {
			code = StatusOf(err)
			if code == statusClientClosed {
				s.log.Debug("client went away", "route", path, "err", err)
			} else {
				s.writeError(w, code, err)
			}
			if p, _ := s.state(); p != nil {
				attrs = append(attrs, "model", p.Dir) // the log, not the client, sees the path
			}
		}
		level := slog.LevelDebug
		if code >= 500 && code != http.StatusServiceUnavailable {
			level = slog.LevelWarn
		}
		attrs = append(attrs, "code", code, "ms", time.Since(start).Milliseconds(), "err", err)
		s.log.Log(r.Context(), level, "request", attrs...)
		s.metrics.request(path, code, time.Since(start))
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, route string, fn taskFunc) (int, error) {
	p, b := s.state()
	if s.draining.Load() {
		return 0, ErrClosed
	}
	if p == nil {
		return 0, &httpError{code: http.StatusServiceUnavailable, err: errors.New("the model is still loading")}
	}
	if h := taskHead[route]; p.Model.Head != h {
		return 0, errorf(http.StatusNotFound, "/v1/%s needs a %s model; this server runs %s. Start another 'vilt serve --model %s'",
			route, h, modelLabel(p), vilt.DefaultModel(route))
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	req, err := s.decode(r)
	if err != nil {
		return 0, err
	}
	// A large request (rank: images × texts) enters the queue in parts, so it never needs
	// the whole queue and others get turns.
	t := &vilt.Tasks{P: p, Run: b.Run, Truncation: processor.TruncationError, BatchSize: max(1, s.opts.Queue/4)}
	start := time.Now()
	res, err := fn(ctx, t, req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil {
			err = fmt.Errorf("request timed out after %v: %w", s.opts.Timeout, err)
		}
		return 0, err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Server-Timing", serverTiming(time.Since(start)))
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return http.StatusOK, enc.Encode(res)
}

var taskHead = map[string]weights.Head{
	"vqa": weights.HeadVQA, "fill-mask": weights.HeadMLM, "nlvr2": weights.HeadNLVR2, "rank": weights.HeadRetrieval,
}

func (s *Server) writeError(w http.ResponseWriter, code int, err error) {
	switch code {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	msg := strings.ReplaceAll(s.clientSafe(err.Error()), "\n", "; ")
	json.NewEncoder(w).Encode(map[string]any{"error": msg, "code": code})
}

// modelLabel names the model for clients: its hub id or folder name, and its head.
func modelLabel(p *vilt.Pipeline) string {
	if p.Name == "" {
		return string(p.Model.Head)
	}
	return fmt.Sprintf("%s (%s)", p.Name, p.Model.Head)
}

// clientSafe replaces the model folder (as given, absolute, or with links resolved) in a
// message to a client by the model's name: server paths stay in the log.
func (s *Server) clientSafe(msg string) string {
	p, _ := s.state()
	if p == nil || p.Dir == "" {
		return msg
	}
	forms := []string{p.Dir}
	if abs, err := filepath.Abs(p.Dir); err == nil {
		forms = append(forms, abs)
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			forms = append(forms, real)
		}
	}
	// Longest first, so that a form containing another is replaced whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	name := p.Name
	if name == "" {
		name = "the model"
	}
	for _, f := range forms {
		if f != "" && f != "." && f != "/" {
			msg = strings.ReplaceAll(msg, f, name)
		}
	}
	return msg
}

// request is every route's input; each route checks the fields it needs.
type request struct {
	Images     []*processor.RGBImage
	ImageNames []string
	Texts      []string // question(s) or text(s)
	TopK       int
	Explain    *vilt.ExplainOptions // nil: no explanation
}

// jsonRequest is the JSON body. Images are base64 (standard or URL alphabet, padding
// optional) or data: URLs.
type jsonRequest struct {
	Image     *string  `json:"image"`
	Images    []string `json:"images"`
	Question  *string  `json:"question"`
	Questions []string `json:"questions"`
	Text      *string  `json:"text"`
	Texts     []string `json:"texts"`
	TopK      int      `json:"top_k"`
	// Explain asks for patch maps of where the model looked (explain.go).
	Explain       bool   `json:"explain"`
	ExplainMethod string `json:"explain_method"`
}

func (s *Server) decode(r *http.Request) (*request, error) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil && r.Header.Get("Content-Type") != "" {
		return nil, errorf(http.StatusUnsupportedMediaType, "bad Content-Type: %v", err)
	}
	req := &request{}
	switch ct {
	case "", "application/json", "application/x-www-form-urlencoded", "text/plain": // curl -d sends form-urlencoded
		var jr jsonRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&jr); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, errorf(http.StatusBadRequest, "malformed JSON body: %v", err)
		}
		if dec.More() {
			return nil, errorf(http.StatusBadRequest, "malformed JSON body: more than one value")
		}
		var imgs []string
		if jr.Image != nil {
			imgs = append(imgs, *jr.Image)
		}
		imgs = append(imgs, jr.Images...)
		if len(imgs) > s.opts.MaxImages {
			return nil, errorf(http.StatusRequestEntityTooLarge, "%d images; at most %d per request", len(imgs), s.opts.MaxImages)
		}
		for i, src := range imgs {
			data, err := decodeBase64Image(src)
			if err != nil {
				return nil, errorf(http.StatusBadRequest, "image %d: %v", i, err)
			}
			if err := s.addImage(req, data, fmt.Sprintf("image %d", i)); err != nil {
				return nil, err
			}
		}
		for _, p := range []*string{jr.Question, jr.Text} {
			if p != nil {
				req.Texts = append(req.Texts, *p)
			}
		}
		req.Texts = append(append(req.Texts, jr.Questions...), jr.Texts...)
		req.TopK = jr.TopK
		if err := req.setExplain(jr.Explain, jr.ExplainMethod); err != nil {
			return nil, err
		}
	case "multipart/form-data":
		if err := s.decodeMultipart(r, params["boundary"], req); err != nil {
			return nil, err
		}
	default:
		return nil, errorf(http.StatusUnsupportedMediaType, "Content-Type %s: send application/json (base64 images) or multipart/form-data", ct)
	}
	if len(req.Texts) > s.opts.MaxTexts {
		return nil, errorf(http.StatusRequestEntityTooLarge, "%d texts; at most %d per request", len(req.Texts), s.opts.MaxTexts)
	}
	for i, t := range req.Texts {
		if len(t) > s.opts.MaxTextBytes {
			return nil, errorf(http.StatusRequestEntityTooLarge, "text %d is %d bytes; at most %d", i, len(t), s.opts.MaxTextBytes)
		}
		if strings.TrimSpace(t) == "" {
			return nil, errorf(http.StatusBadRequest, "text %d is empty", i)
		}
	}
	if req.TopK < 0 || req.TopK > 1000 {
		return nil, errorf(http.StatusBadRequest, "top_k %d outside [0, 1000]", req.TopK)
	}
	return req, nil
}

func (s *Server) addImage(req *request, data []byte, name string) error {
	img, err := processor.DecodeImageBytes(data, processor.DecodeOptions{MaxPixels: s.opts.MaxPixels, MaxBytes: s.opts.MaxBodyBytes})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	req.Images = append(req.Images, img)
	req.ImageNames = append(req.ImageNames, name)
	return nil
}

func decodeBase64Image(src string) ([]byte, error) {
	src = strings.TrimSpace(src)
	low := strings.ToLower(src)
	if strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://") || strings.HasPrefix(low, "file:") {
		return nil, errors.New("image URLs are not fetched; send the image bytes base64-encoded (or as a multipart file)")
	}
	if strings.HasPrefix(low, "data:") {
		i := strings.Index(src, ",")
		if i < 0 || !strings.Contains(low[:i], ";base64") {
			return nil, errors.New("data URL without ;base64 payload")
		}
		src = src[i+1:]
	}
	if src == "" {
		return nil, errors.New("empty image")
	}
	src = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, src)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(src); err == nil {
			return b, nil
		}
	}
	_, err := base64.StdEncoding.DecodeString(src)
	return nil, fmt.Errorf("bad base64: %v", err)
}

func (s *Server) decodeMultipart(r *http.Request, boundary string, req *request) error {
	if boundary == "" {
		return errorf(http.StatusBadRequest, "multipart body without a boundary")
	}
	mr := multipart.NewReader(r.Body, boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return err
			}
			return errorf(http.StatusBadRequest, "malformed multipart body: %v", err)
		}
		name := part.FormName()
		data, err := io.ReadAll(part)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return err
			}
			return errorf(http.StatusBadRequest, "malformed multipart body: %v", err)
		}
		switch name {
		case "image", "images":
			if len(req.Images) >= s.opts.MaxImages {
				return errorf(http.StatusRequestEntityTooLarge, "more than %d images per request", s.opts.MaxImages)
			}
			label := part.FileName()
			if label == "" {
				label = fmt.Sprintf("image %d", len(req.Images))
			}
			if err := s.addImage(req, data, label); err != nil {
				return err
			}
		case "question", "questions", "text", "texts":
			req.Texts = append(req.Texts, string(data))
		case "top_k":
			k, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				return errorf(http.StatusBadRequest, "top_k: %v", err)
			}
			req.TopK = k
		case "explain", "explain_method":
			if err := req.setExplainField(name, string(data)); err != nil {
				return err
			}
		default:
			return errorf(http.StatusBadRequest, "unknown form field %q (want image, question/text, top_k, explain)", name)
		}
	}
}

func (s *Server) vqa(ctx context.Context, t *vilt.Tasks, req *request) (any, error) {
	if len(req.Images) == 0 || len(req.Texts) == 0 {
		return nil, errorf(http.StatusBadRequest, "vqa needs \"image\" (or \"images\") and \"question\" (or \"questions\")")
	}
	if req.Explain != nil {
		return explainVQA(ctx, t, req)
	}
	ans, err := t.VQA(ctx, req.Images, req.Texts, req.TopK)
	if err != nil {
		return nil, err
	}
	return VQAResponse(req.ImageNames, req.Texts, ans), nil
}

func (s *Server) fillMask(ctx context.Context, t *vilt.Tasks, req *request) (any, error) {
	if len(req.Images) != 1 || len(req.Texts) != 1 {
		return nil, errorf(http.StatusBadRequest, "fill-mask needs one \"image\" and one \"text\" with [MASK] tokens")
	}
	res, err := t.FillMask(ctx, req.Images[0], req.Texts[0], req.TopK)
	if err == nil && req.Explain != nil {
		err = t.ExplainFillMask(ctx, req.Images[0], res, *req.Explain)
	}
	return res, err
}

func (s *Server) nlvr2(ctx context.Context, t *vilt.Tasks, req *request) (any, error) {
	if len(req.Images) != 2 || len(req.Texts) != 1 {
		return nil, errorf(http.StatusBadRequest, "nlvr2 needs two \"images\" (left, right) and one \"text\"")
	}
	res, err := t.NLVR2(ctx, req.Images[0], req.Images[1], req.Texts[0])
	if err == nil && req.Explain != nil {
		res.Explanations, err = t.Explain(ctx, req.Images, req.Texts[0], *req.Explain)
	}
	return res, err
}

func (s *Server) rank(ctx context.Context, t *vilt.Tasks, req *request) (any, error) {
	if len(req.Images) == 0 || len(req.Texts) == 0 {
		return nil, errorf(http.StatusBadRequest, "rank needs \"images\" and \"texts\"")
	}
	if req.Explain != nil {
		if err := checkExplainCount(len(req.Images) * len(req.Texts)); err != nil {
			return nil, err
		}
	}
	res, err := t.Rank(ctx, req.Images, req.Texts, req.TopK)
	if err != nil {
		return nil, err
	}
	res.NameImages(req.ImageNames)
	if req.Explain != nil {
		return res, explainRank(ctx, t, req, res)
	}
	return res, nil
}

// VQAItem is one (image, question) result when a request has several.
type VQAItem struct {
	Image    int           `json:"image"`
	Name     string        `json:"image_name,omitempty"`
	Question string        `json:"question"`
	Answers  []vilt.Answer `json:"answers"`
	// Explanation is where the model looked (requests with "explain").
	Explanation *vilt.PatchMap `json:"explanation,omitempty"`
}

// VQAResponse is the JSON of a VQA call (CLI and server alike): one image and one question
// give transformers' pipeline shape [{"score", "answer"}, ...]; several give one VQAItem
// per pair, image-major.
func VQAResponse(imageNames, questions []string, ans [][]vilt.Answer) any {
	if len(ans) == 1 {
		return ans[0]
	}
	return VQAExplainedResponse(imageNames, questions, ans, nil)
}
