package vilt

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"
)

// BenchOptions configure Bench.
type BenchOptions struct {
	Runs       int // timed batch-1 runs after warm-up (default 20)
	Warmup     int // untimed runs first (default 2)
	Batch      int // batch size of the throughput measurement (default 8; 0 skips it)
	BatchRuns  int // timed runs at that batch (default 3)
	Profile    bool
	OnProgress func(done, total int)

	// Attentions makes every forward return attentions.N too, as an explanation's does.
	Attentions bool
	// LastHiddenState makes every forward return last_hidden_state, as a plain forward does;
	// by default the forwards are the tasks' (ForwardOptions.SkipLastHiddenState).
	LastHiddenState bool
}

// OpStat is one row of the per-op GPU time table.
type OpStat struct {
	Op      string  `json:"op"`
	Count   int     `json:"count"`
	Ms      float64 `json:"ms"`
	Percent float64 `json:"percent"`
}

// BenchResult is what `vilt bench --json` prints.
type BenchResult struct {
	Device               string   `json:"device"`
	Head                 string   `json:"head"`
	Batch                int      `json:"batch"`
	SeqLen               int      `json:"seq_len"`
	Runs                 int      `json:"runs"`
	LatencyMsMedian      float64  `json:"latency_ms_median"`
	LatencyMsMin         float64  `json:"latency_ms_min"`
	LatencyMsP90         float64  `json:"latency_ms_p90"`
	ThroughputPairsPerS  float64  `json:"throughput_pairs_per_s"`
	BatchLatencyMsMedian float64  `json:"batch_latency_ms_median"`
	LoadS                float64  `json:"load_s"`
	FirstForwardS        float64  `json:"first_forward_s"`
	PeakDeviceBytes      uint64   `json:"peak_device_bytes"`
	WeightBytes          uint64   `json:"weight_bytes"`
	Precision            string   `json:"precision"`         // how the weights are stored: fp32 or fp16
	LastHiddenState      bool     `json:"last_hidden_state"` // forwards computed it (BenchOptions.LastHiddenState)
	PeakRSSBytes         uint64   `json:"peak_rss_bytes"`
	KernelSumMs          float64  `json:"kernel_sum_ms,omitempty"`
	OverheadRatio        float64  `json:"overhead_ratio,omitempty"`
	Ops                  []OpStat `json:"ops,omitempty"`

	// The batch run: milliseconds per pair (batch median / batch) and, with Profile, its own
	// per-op table from one profiled forward at that batch.
	PerPairMs float64 `json:"per_pair_ms,omitempty"`
	// Process CPU time per batch-1 forward and per pair of the batch run (user+system, all
	// threads): what a forward costs on a CPU driver, steadier than wall time on a busy machine.
	CPUMsPerForward  float64  `json:"cpu_ms_per_forward,omitempty"`
	CPUMsPerPair     float64  `json:"cpu_ms_per_pair,omitempty"`
	BatchKernelSumMs float64  `json:"batch_kernel_sum_ms,omitempty"`
	BatchOps         []OpStat `json:"batch_ops,omitempty"`
}

// repeatBatch makes a batch of n copies of a one-example input.
func repeatBatch(in *Inputs, n int) *Inputs {
	out := *in
	out.Batch = in.Batch * n
	rep := func(v []int64) []int64 {
		if v == nil {
			return nil
		}
		var r []int64
		for i := 0; i < n; i++ {
			r = append(r, v...)
		}
		return r
	}
	out.InputIDs, out.AttentionMask, out.TokenTypeIDs, out.PixelMask = rep(in.InputIDs), rep(in.AttentionMask), rep(in.TokenTypeIDs), rep(in.PixelMask)
	out.PixelValues = nil
	for i := 0; i < n; i++ {
		out.PixelValues = append(out.PixelValues, in.PixelValues...)
	}
	return &out
}

// Bench measures batch-1 latency (median of opts.Runs after warm-up), batch throughput, peak
// device memory and a per-op GPU time table for one example in.
func (m *Model) Bench(ctx context.Context, in *Inputs, opts BenchOptions) (*BenchResult, error) {
	if opts.Runs <= 0 {
		opts.Runs = 20
	}
	if opts.Warmup <= 0 {
		opts.Warmup = 2
	}
	if opts.BatchRuns <= 0 {
		opts.BatchRuns = 3
	}
	res := &BenchResult{Head: string(m.Head), Batch: opts.Batch, Runs: opts.Runs}
	if len(m.replicas) > 0 {
		res.Device = m.replicas[0].dev.Info().Name
		if len(m.replicas) > 1 {
			res.Device = fmt.Sprintf("%s (+%d more)", res.Device, len(m.replicas)-1)
		}
	}
	res.WeightBytes = m.loadInfo.WeightBytes
	res.Precision = m.loadInfo.Precision.String()
	total := opts.Warmup + opts.Runs
	if opts.Batch > 0 {
		total += 1 + opts.BatchRuns
	}
	if opts.Profile {
		total++
		if opts.Batch > 0 {
			total++
		}
	}
	done := 0
	step := func() {
		done++
		if opts.OnProgress != nil {
			opts.OnProgress(done, total)
		}
	}
	for _, r := range m.replicas {
		r.dev.ResetPeak()
	}
	fo := ForwardOptions{OutputAttentions: opts.Attentions, SkipLastHiddenState: !opts.LastHiddenState}
	res.LastHiddenState = opts.LastHiddenState
	t0 := time.Now()
	for i := 0; i < opts.Warmup; i++ {
		out, err := m.Forward(ctx, in, fo)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			res.FirstForwardS = time.Since(t0).Seconds()
			res.SeqLen = out.SeqLen
		}
		step()
	}
	lat := make([]float64, 0, opts.Runs)
	cpu0 := cpuSeconds()
	for i := 0; i < opts.Runs; i++ {
		t := time.Now()
		if _, err := m.Forward(ctx, in, fo); err != nil {
			return nil, err
		}
		lat = append(lat, float64(time.Since(t).Microseconds())/1e3)
		step()
	}
	res.CPUMsPerForward = (cpuSeconds() - cpu0) * 1e3 / float64(opts.Runs)
	sort.Float64s(lat)
	res.LatencyMsMedian = median(lat)
	res.LatencyMsMin = lat[0]
	res.LatencyMsP90 = lat[int(math.Ceil(0.9*float64(len(lat))))-1]
	if opts.Batch > 0 {
		bin := repeatBatch(in, opts.Batch)
		if _, err := m.Forward(ctx, bin, fo); err != nil { // compile + warm
			return nil, err
		}
		step()
		var bl []float64
		cpu0 := cpuSeconds()
		for i := 0; i < opts.BatchRuns; i++ {
			t := time.Now()
			if _, err := m.Forward(ctx, bin, fo); err != nil {
				return nil, err
			}
			bl = append(bl, time.Since(t).Seconds())
			step()
		}
		res.CPUMsPerPair = (cpuSeconds() - cpu0) * 1e3 / float64(opts.BatchRuns*bin.Batch)
		sort.Float64s(bl)
		res.BatchLatencyMsMedian = median(bl) * 1e3
		res.ThroughputPairsPerS = float64(bin.Batch) / median(bl)
		res.PerPairMs = res.BatchLatencyMsMedian / float64(bin.Batch)
	}
	for _, r := range m.replicas {
		res.PeakDeviceBytes += r.dev.MemoryStats().Peak
	}
	if opts.Profile {
		sum, ops, err := m.profileOps(ctx, in, fo)
		if err != nil {
			return nil, err
		}
		step()
		res.KernelSumMs, res.Ops = sum, ops
		if sum > 0 {
			res.OverheadRatio = res.LatencyMsMedian / sum
		}
		if opts.Batch > 0 {
			if res.BatchKernelSumMs, res.BatchOps, err = m.profileOps(ctx, repeatBatch(in, opts.Batch), fo); err != nil {
				return nil, err
			}
			step()
		}
	}
	res.PeakRSSBytes = peakRSS()
	return res, nil
}

// profileOps runs one profiled forward and returns its summed kernel time and per-op table.
func (m *Model) profileOps(ctx context.Context, in *Inputs, fo ForwardOptions) (float64, []OpStat, error) {
	fo.Profile = true
	out, err := m.Forward(ctx, in, fo)
	if err != nil {
		return 0, nil, err
	}
	var sum time.Duration
	for _, o := range out.Profile {
		sum += o.Total
	}
	total := float64(sum.Microseconds()) / 1e3
	if total <= 0 {
		return 0, nil, nil
	}
	ops := make([]OpStat, 0, len(out.Profile))
	for _, o := range out.Profile {
		ms := float64(o.Total.Microseconds()) / 1e3
		ops = append(ops, OpStat{Op: o.Op, Count: o.Count, Ms: ms, Percent: 100 * ms / total})
	}
	return total, ops, nil
}

func median(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
