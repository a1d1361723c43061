package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/vilt-vk/vilt-vk/serve"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "HTTP server: /v1/vqa, /v1/fill-mask, /v1/nlvr2, /v1/rank with dynamic batching, /metrics",
		run:     runServe,
	})
}

func runServe(args []string, stdout io.Writer) error {
	fs := newFlagSet("serve")
	var mf modelFlags
	mf.register(fs, "vqa")
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address` (host:port; port 0 picks one)")
	maxBatch := fs.Int("max-batch", 8, "examples per forward (dynamic batching; 1 turns it off)")
	maxWait := fs.Duration("max-wait", 5*time.Millisecond, "how long the oldest queued example waits for others")
	queue := fs.Int("queue", 256, "examples waiting at most; beyond it requests get 429 with Retry-After")
	workers := fs.Int("workers", 1, "batch workers (1: the next batch takes everything queued while the devices were busy)")
	timeout := fs.Duration("timeout", 60*time.Second, "per-request timeout")
	maxBody := fs.Int64("max-body", 32<<20, "request body limit in `bytes`")
	maxText := fs.Int("max-text-bytes", 2048, "bytes per text (texts over the model's 40 tokens are refused too)")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM/SIGINT, how long in-flight requests may finish")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vilt serve [--addr 127.0.0.1:8080] [--model DIR|ORG/NAME[@REV]] [--max-batch 8 --max-wait 5ms --queue 256]")
		fmt.Fprintln(fs.Output(), `
Serves one model. POST JSON ({"image": base64, "question": "..."}; "images"/"questions",
"text"/"texts", "top_k") or multipart/form-data (image files, question/text, top_k) to the
route of the model's head: /v1/vqa (VQA), /v1/fill-mask (MLM), /v1/nlvr2 (NLVR2), /v1/rank
(retrieval). Responses are the JSON of the matching CLI command with --json. Images are
never fetched from URLs; "explain": true adds heatmaps. GET / is a page for trying the
model in a browser; GET /v1/info, /healthz, /readyz, /metrics (Prometheus). SIGTERM drains:
in-flight requests finish, new ones get 503.

flags:`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *maxBatch < 1 || *queue < 1 || *workers < 1 {
		return usageErrorf("--max-batch, --queue and --workers must be >= 1")
	}
	mf.setup()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	mw := *maxWait
	if mw <= 0 {
		mw = -1 // serve.Options: negative means no wait
	}
	s := serve.New(nil, serve.Options{MaxBatch: *maxBatch, MaxWait: mw, Queue: *queue, Workers: *workers,
		MaxBodyBytes: *maxBody, MaxPixels: mf.maxPixels, MaxTextBytes: *maxText, Timeout: *timeout})
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	slog.Info("listening", "addr", ln.Addr().String(), "model", mf.model)

	ctx, stop := signalContext()
	defer stop()
	loaded := make(chan error, 1)
	var closeModel func() error
	go func() {
		p, err := mf.load(ctx, io.Discard)
		if err != nil {
			loaded <- err
			return
		}
		closeModel = p.Close
		if note := p.Model.Config.Note; note != "" {
			slog.Warn(note)
		}
		s.SetPipeline(p)
		slog.Info("model ready", "dir", p.Dir, "head", p.Model.Head, "devices", p.Model.LoadInfo().Devices,
			"max_batch", *maxBatch, "max_wait", *maxWait, "queue", *queue)
		loaded <- nil
	}()
	var runErr error
	select {
	case err := <-loaded:
		if err != nil {
			srv.Close()
			return err
		}
		select {
		case <-ctx.Done():
		case runErr = <-serveErr:
		}
	case <-ctx.Done():
		<-loaded
	case runErr = <-serveErr:
	}
	slog.Info("shutting down: finishing in-flight requests", "grace", *grace)
	s.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		slog.Warn("shutdown", "err", err)
	}
	s.Close()
	if closeModel != nil {
		closeModel()
	}
	if runErr != nil && !errors.Is(runErr, http.ErrServerClosed) {
		return runErr
	}
	slog.Info("stopped")
	return nil
}
