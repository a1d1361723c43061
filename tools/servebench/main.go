// Command servebench measures `vilt serve` throughput on loopback: C concurrent clients
// send N VQA requests in total, first with dynamic batching off (max-batch 1), then on
// (max-batch B, max-wait W); it prints requests/s, latency percentiles and the mean batch
// size each way.
//
//	go run ./tools/servebench -synthetic ../shared/golden/full/config.json   # full-size ViLT-B/32, synthetic weights
//	go run ./tools/servebench -model testdata/tiny-vilt-vqa
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/serve"
	"github.com/vilt-vk/vilt-vk/vilt"
	"github.com/vilt-vk/vilt-vk/weights"
)

func main() {
	model := flag.String("model", "", "model folder (or use -synthetic)")
	synthetic := flag.String("synthetic", "", "config.json of a model to build with synthetic weights (architectures set to ViltForQuestionAnswering)")
	procDir := flag.String("processor", "testdata/tiny-vilt-vqa", "folder with the tokenizer and preprocessor files (with -synthetic)")
	image := flag.String("image", "testdata/tiny-vilt-vqa/example.png", "image sent with every request")
	edge := flag.Int("shortest-edge", 0, "override the image processor's shortest edge (0: keep)")
	clients := flag.Int("clients", 16, "concurrent clients")
	requests := flag.Int("requests", 64, "requests per run")
	maxBatch := flag.Int("max-batch", 8, "max batch of the batched run")
	maxWait := flag.Duration("max-wait", 5*time.Millisecond, "max wait of the batched run")
	device := flag.String("device", "", "device selector")
	flag.Parse()
	if err := run(*model, *synthetic, *procDir, *image, *edge, *clients, *requests, *maxBatch, *maxWait, *device); err != nil {
		fmt.Fprintln(os.Stderr, "servebench:", err)
		os.Exit(1)
	}
}

func run(model, synthetic, procDir, imagePath string, edge, clients, requests, maxBatch int, maxWait time.Duration, device string) error {
	ctx := context.Background()
	var p *vilt.Pipeline
	var err error
	t0 := time.Now()
	switch {
	case synthetic != "":
		cfg, err := vilt.LoadConfigFile(synthetic)
		if err != nil {
			return err
		}
		cfg.Architectures = []string{"ViltForQuestionAnswering"}
		devs, err := vilt.OpenDevices(device)
		if err != nil {
			return err
		}
		m, err := vilt.FromCheckpoint(ctx, cfg, weights.NewSynthetic(cfg.Spec()), devs)
		if err != nil {
			return err
		}
		proc, err := processor.LoadProcessor(os.DirFS(procDir))
		if err != nil {
			return err
		}
		p = &vilt.Pipeline{Model: m, Processor: proc, Dir: "synthetic:" + synthetic, Name: "synthetic:" + synthetic}
	case model != "":
		p, err = vilt.Load(ctx, model, vilt.LoadOptions{DeviceSelector: device})
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("give -model or -synthetic")
	}
	defer p.Close()
	if edge > 0 {
		o := p.Processor.Images.Options()
		o.ShortestEdge = edge
		ip, err := processor.NewImageProcessor(o)
		if err != nil {
			return err
		}
		p.Processor.Images = ip
	}
	fmt.Printf("model %s (%s, hidden %d, %d layers) on %v, loaded in %v\n", p.Dir, p.Model.Head, p.Model.Config.HiddenSize,
		p.Model.Config.NumHiddenLayers, p.Model.LoadInfo().Devices, time.Since(t0).Round(time.Millisecond))
	img, err := os.ReadFile(imagePath)
	if err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString(img)
	questions := []string{"How many cats are there?", "What color is the couch?", "Is there a remote?", "what animals are these?"}
	bodies := make([][]byte, len(questions))
	for i, q := range questions {
		bodies[i], _ = json.Marshal(map[string]any{"image": b64, "question": q, "top_k": 5})
	}
	// Compile the forwards of every batch size the runs use (1, 2, 4, ..., max-batch) first.
	tk := p.Tasks()
	enc, err := tk.Encode(questions[0], "")
	if err != nil {
		return err
	}
	dimg, err := processor.DecodeImageBytes(img, processor.DecodeOptions{})
	if err != nil {
		return err
	}
	pix, err := p.PrepareImage(dimg)
	if err != nil {
		return err
	}
	for k := 1; ; k = min(2*k, maxBatch) {
		ex := make([]vilt.Example, k)
		for i := range ex {
			ex[i] = vilt.Example{Encoding: enc, Images: []*processor.PixelImage{pix}}
		}
		t1 := time.Now()
		if _, err := p.RunExamplesPadded(ctx, ex, serve.TextMultiple); err != nil {
			return err
		}
		t2 := time.Now()
		if _, err := p.RunExamplesPadded(ctx, ex, serve.TextMultiple); err != nil {
			return err
		}
		fmt.Printf("batch %2d: first forward %v (compiles), then %v (%.2f examples/s)\n", k, t2.Sub(t1).Round(time.Millisecond),
			time.Since(t2).Round(time.Millisecond), float64(k)/time.Since(t2).Seconds())
		if k == maxBatch {
			break
		}
	}
	for _, mode := range []struct {
		name  string
		batch int
		wait  time.Duration
	}{{"batch 1 (no batching)", 1, -1}, {fmt.Sprintf("dynamic batching (max-batch %d, max-wait %v)", maxBatch, maxWait), maxBatch, maxWait}} {
		s := serve.New(p, serve.Options{MaxBatch: mode.batch, MaxWait: mode.wait})
		r, err := load(s, bodies, clients, requests)
		s.Close()
		if err != nil {
			return err
		}
		fmt.Printf("%-48s %4d clients %5d requests  %8.2f req/s  p50 %6.0f ms  p99 %6.0f ms  mean batch %.2f\n",
			mode.name, clients, requests, r.rps, r.p50, r.p99, r.meanBatch)
	}
	return nil
}

type result struct{ rps, p50, p99, meanBatch float64 }

func load(s *serve.Server, bodies [][]byte, clients, requests int) (*result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String()
	c := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var mu sync.Mutex
	var lat []float64
	var firstErr error
	next := make(chan int, requests)
	for i := 0; i < requests; i++ {
		next <- i
	}
	close(next)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := time.Now()
				resp, err := c.Post(url+"/v1/vqa", "application/json", bytes.NewReader(bodies[i%len(bodies)]))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, float64(time.Since(t).Milliseconds()))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if firstErr != nil {
		return nil, firstErr
	}
	sort.Float64s(lat)
	r := &result{rps: float64(requests) / el.Seconds(), p50: lat[len(lat)/2], p99: lat[min(len(lat)-1, len(lat)*99/100)]}
	resp, err := c.Get(url + "/metrics")
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var sum, n float64
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "vilt_batch_size_sum "); ok {
			sum, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "vilt_batch_size_count "); ok {
			n, _ = strconv.ParseFloat(v, 64)
		}
	}
	if n > 0 {
		r.meanBatch = sum / n
	}
	return r, nil
}
