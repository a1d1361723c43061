package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/vilt"
	"github.com/vilt-vk/vilt-vk/weights"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "benchmark a full forward: latency, throughput, memory, per-op GPU times",
		run:     runBench,
	})
}

// benchIDs are "How many cats are there?" in the bert-base-uncased vocabulary (the golden
// processor case), so --synthetic needs no tokenizer files.
var benchIDs = []int64{101, 2129, 2116, 8870, 2024, 2045, 1029, 102}

// syntheticInputs is one example at the size of the cats photo after preprocessing
// (384×512 → 12×16 patches, S = 8 + 1 + 192 = 201) with a smooth deterministic image.
func syntheticInputs(h, w int) *vilt.Inputs {
	in := &vilt.Inputs{Batch: 1, SeqLen: len(benchIDs), NumImages: 1, Height: h, Width: w, InputIDs: benchIDs}
	in.PixelValues = make([]float32, 3*h*w)
	for c := 0; c < 3; c++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				in.PixelValues[(c*h+y)*w+x] = float32(math.Sin(float64(x*(c+1))/37+float64(y)/23) * 0.9)
			}
		}
	}
	return in
}

func runBench(args []string, stdout io.Writer) error {
	fs := newFlagSet("bench")
	synthetic := fs.Bool("synthetic", false, "full-size ViLT-B/32 VQA from the integer weight rule (no files needed)")
	model := fs.String("model", "", "model folder or hub id (instead of --synthetic)")
	image := fs.String("image", "", "image for --model (default: a synthetic 384×512 image)")
	question := fs.String("question", "How many cats are there?", "question/text for --model")
	device := fs.String("device", "", "device selector (index, name substring, list, 'all')")
	runs := fs.Int("runs", 20, "timed batch-1 runs after warm-up")
	batch := fs.Int("batch", 8, "batch size for the throughput measurement (0 skips it)")
	batchRuns := fs.Int("batch-runs", 3, "timed runs at --batch")
	profile := fs.Bool("profile", true, "per-op GPU time table (one extra profiled forward)")
	top := fs.Int("top", 10, "rows of the per-op table")
	asJSON := fs.Bool("json", false, "print one JSON object")
	attentions := fs.Bool("attentions", false, "every forward also returns its attentions (the cost of an explanation)")
	lastHidden := fs.Bool("last-hidden-state", false, "every forward also returns last_hidden_state, as vilt forward does (the tasks skip it: their last layer runs on the text rows only)")
	precision := precisionFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	prec, err := vilt.ParsePrecision(*precision)
	if err != nil {
		return usageErrorf("--precision: %v", err)
	}
	mopts := vilt.ModelOptions{Precision: prec}
	if *synthetic == (*model != "") {
		return usageErrorf("give exactly one of --synthetic or --model")
	}
	ctx, stop := signalContext()
	defer stop()
	devs, err := vilt.OpenDevices(*device)
	if err != nil {
		return err
	}
	defer vilt.CloseDevices(devs)

	t0 := time.Now()
	var m *vilt.Model
	in := syntheticInputs(384, 512)
	if *synthetic {
		cfg := vilt.SyntheticVQAConfig()
		m, err = vilt.FromCheckpoint(ctx, cfg, weights.NewSynthetic(cfg.Spec()), devs, mopts)
	} else {
		var dir string
		dir, err = locateModel(ctx, *model, true, *asJSON)
		if err != nil {
			return err
		}
		m, err = vilt.LoadDir(ctx, dir, devs, mopts)
		if err == nil {
			in, err = benchModelInputs(dir, *image, *question)
		}
	}
	if err != nil {
		return err
	}
	defer m.Close()
	load := time.Since(t0)
	var progress func(int, int)
	if !*asJSON && isTerminal(os.Stderr) {
		progress = func(done, total int) { fmt.Fprintf(os.Stderr, "\rbench: %d/%d forwards", done, total) }
	}
	res, err := m.Bench(ctx, in, vilt.BenchOptions{Runs: *runs, Batch: *batch, BatchRuns: *batchRuns, Profile: *profile, Attentions: *attentions, LastHiddenState: *lastHidden, OnProgress: progress})
	if progress != nil {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return err
	}
	res.LoadS = load.Seconds()
	ops1 := res.Ops // untruncated, for the batch table's ratios
	if len(res.Ops) > *top {
		res.Ops = res.Ops[:*top]
	}
	if len(res.BatchOps) > *top {
		res.BatchOps = res.BatchOps[:*top]
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	forward := "task forwards (no last_hidden_state)"
	if res.LastHiddenState {
		forward = "full forwards (with last_hidden_state)"
	}
	fmt.Fprintf(stdout, "%s on %s: batch 1, %d tokens, %s\n", res.Head, res.Device, res.SeqLen, forward)
	fmt.Fprintf(stdout, "  latency      median %.1f ms, min %.1f ms, p90 %.1f ms (%d runs)\n", res.LatencyMsMedian, res.LatencyMsMin, res.LatencyMsP90, res.Runs)
	if res.Batch > 0 {
		fmt.Fprintf(stdout, "  throughput   %.2f pairs/s at batch %d (%.0f ms per batch, %.1f ms per pair)\n", res.ThroughputPairsPerS, res.Batch, res.BatchLatencyMsMedian, res.PerPairMs)
	}
	if res.CPUMsPerForward > 0 {
		fmt.Fprintf(stdout, "  cpu time     %.0f ms per batch-1 forward", res.CPUMsPerForward)
		if res.CPUMsPerPair > 0 {
			fmt.Fprintf(stdout, ", %.0f ms per pair at batch %d", res.CPUMsPerPair, res.Batch)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "  load         %.2f s (first forward %.2f s, including recording)\n", res.LoadS, res.FirstForwardS)
	fmt.Fprintf(stdout, "  memory       weights %s (%s), device peak %s, host peak RSS %s\n", mib(res.WeightBytes), res.Precision, mib(res.PeakDeviceBytes), mib(res.PeakRSSBytes))
	if res.KernelSumMs > 0 {
		fmt.Fprintf(stdout, "  kernels      %.1f ms summed; forward/kernels = %.2f\n\n", res.KernelSumMs, res.OverheadRatio)
		writeOpTable(stdout, res.Ops, nil, 0)
	}
	if res.BatchKernelSumMs > 0 {
		fmt.Fprintf(stdout, "\n  batch %d: kernels %.1f ms summed (%.1f ms per pair)\n\n", res.Batch, res.BatchKernelSumMs, res.BatchKernelSumMs/float64(res.Batch))
		writeOpTable(stdout, res.BatchOps, ops1, res.Batch)
	}
	return nil
}

// writeOpTable prints a per-op table; with a batch-1 table and the batch size it adds each op's
// time per pair relative to batch 1 (1.00: batching saved nothing on that op).
func writeOpTable(w io.Writer, ops, batch1 []vilt.OpStat, batch int) {
	one := make(map[string]float64, len(batch1))
	for _, o := range batch1 {
		one[o.Op] = o.Ms
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	if batch > 0 {
		fmt.Fprintln(tw, "op\tcount\tms\t%\tper pair / batch 1\t")
	} else {
		fmt.Fprintln(tw, "op\tcount\tms\t%\t")
	}
	for _, o := range ops {
		if batch == 0 {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.1f\t\n", o.Op, o.Count, o.Ms, o.Percent)
			continue
		}
		ratio := "-"
		if b1 := one[o.Op]; b1 > 0 {
			ratio = fmt.Sprintf("%.2f", o.Ms/float64(batch)/b1)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.1f\t%s\t\n", o.Op, o.Count, o.Ms, o.Percent, ratio)
	}
	tw.Flush()
}

// benchModelInputs preprocesses --image (or a synthetic image) and --question with the model's
// own processor.
func benchModelInputs(dir, image, question string) (*vilt.Inputs, error) {
	proc, err := processor.LoadProcessor(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("processor of %s: %w", filepath.Base(dir), err)
	}
	var img *processor.RGBImage
	if image != "" {
		if img, err = readImage(image, processor.DefaultMaxPixels); err != nil {
			return nil, err
		}
	} else {
		img = processor.NewRGBImage(640, 480)
		for i := range img.Pix {
			img.Pix[i] = uint8(i * 7 % 251)
		}
	}
	b, err := proc.Process(processor.Inputs{Texts: []string{question}, Images: []*processor.RGBImage{img}}, processor.EncodeOptions{})
	if err != nil {
		return nil, err
	}
	return vilt.InputsFromBatch(b), nil
}
