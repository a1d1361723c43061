package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vilt-vk/vilt-vk/graph"
	"github.com/vilt-vk/vilt-vk/vilt"
)

// renderMarkdown writes report.md from the report.
func renderMarkdown(r *Report) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	title := "GPU report"
	if r.Quick {
		title += " (quick mode)"
	}
	w("# %s\n\n", title)
	w("Started %s, %.0f s; %s, %d CPUs, %s. Overall: **%s**.\n\n", r.Started.Format("2006-01-02 15:04 UTC"), r.Seconds, r.Host.OS, r.Host.CPUs, r.Host.GoVersion, okWord(r.OK))

	w("## Devices\n\n| index | name | type | driver | |\n| --- | --- | --- | --- | --- |\n")
	for _, d := range r.Devices {
		mark := ""
		if r.Selected != nil && d.Index == r.Selected.Index {
			mark = "**selected**: " + r.Selected.Why
		}
		w("| %d | %s | %s | %s | %s |\n", d.Index, d.Name, d.Type, d.Driver, mark)
	}
	if r.Selected != nil && len(r.Selected.Kernels) > 0 {
		w("\nKernels chosen for the selected device:\n\n")
		keys := make([]string, 0, len(r.Selected.Kernels))
		for k := range r.Selected.Kernels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			w("- %s: %s\n", k, r.Selected.Kernels[k])
		}
	}

	if len(r.Notes) > 0 {
		w("\n## Notes\n\n")
		for _, n := range r.Notes {
			w("- %s\n", n)
		}
	}

	w("\n## Tests (validation on)\n\n")
	if r.Tests == nil || len(r.Tests.Packages) == 0 {
		w("No test results: see %s.\n", fileTests)
	} else {
		w("| package | result | s |\n| --- | --- | --- |\n")
		for _, p := range r.Tests.Packages {
			res := okWord(p.OK)
			if p.Note != "" {
				res += " (" + p.Note + ")"
			}
			w("| %s | %s | %.1f |\n", p.Package, res, p.Seconds)
		}
		if len(r.Tests.Failed) > 0 {
			w("\nFailed: %s\n", strings.Join(r.Tests.Failed, ", "))
		}
	}

	w("\n## Kernels at ViLT shapes\n\n")
	if len(r.Kernels) == 0 {
		w("No kernel results: see %s.\n", fileKernels)
	} else {
		w("GFLOPS over wall time; GFLOPS/cpu over the process's CPU time (steadier on CPU drivers).\n\n")
		w("| kernel | variant | precision | M | shape | ms | GFLOPS | GFLOPS/cpu |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, k := range r.Kernels {
			m := ""
			if k.M > 0 {
				m = fmt.Sprint(k.M)
			}
			w("| %s | %s | %s | %s | %s | %.3g | %.1f | %s |\n", k.Kernel, k.Variant, k.Precision, m, k.Shape, k.MsPerOp, k.GFLOPS, optFloat(k.GFLOPSPerCPU))
		}
	}

	writeBestTiles(w, r.Kernels)

	w("\n## vilt bench --synthetic (full-size ViLT-B/32 VQA, 201 tokens)\n\n")
	w("Host CPU ms per pair: the process's CPU time (on a GPU, the host's share of the work).\n\n")
	w("| precision | batch | batch-1 median ms | pairs/s | ms per pair | host CPU ms per pair | weights MiB | device peak MiB | |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var profiles []string
	for _, br := range r.Bench {
		if br.Error != "" {
			w("| %s | %d | | | | | | | error: %s |\n", br.Precision, br.Batch, br.Error)
			continue
		}
		var res vilt.BenchResult
		if err := json.Unmarshal(br.Result, &res); err != nil {
			w("| %s | %d | | | | | | | unreadable result: %v |\n", br.Precision, br.Batch, err)
			continue
		}
		w("| %s | %d | %.1f | %.2f | %.1f | %s | %.0f | %.0f | |\n", br.Precision, br.Batch, res.LatencyMsMedian, res.ThroughputPairsPerS, res.PerPairMs,
			optFloat(res.CPUMsPerPair), float64(res.WeightBytes)/(1<<20), float64(res.PeakDeviceBytes)/(1<<20))
		if len(res.BatchOps) > 0 {
			var top []string
			for i, o := range res.BatchOps {
				if i == 6 {
					break
				}
				top = append(top, fmt.Sprintf("%s %.1f ms (%.0f %%)", o.Op, o.Ms, o.Percent))
			}
			profiles = append(profiles, fmt.Sprintf("- %s, batch %d (%.1f ms of kernels): %s", br.Precision, br.Batch, res.BatchKernelSumMs, strings.Join(top, ", ")))
		}
	}
	if len(profiles) > 0 {
		w("\nWhere the batch's GPU time goes (one profiled forward, top ops):\n\n%s\n", strings.Join(profiles, "\n"))
	}

	w("\n## Steps\n\n| step | s | |\n| --- | --- | --- |\n")
	for _, s := range r.Steps {
		w("| %s | %.1f | %s |\n", s.Name, s.Seconds, s.Error)
	}
	w("\nRaw output: %s, %s, %s, %s; everything above as %s.\n", fileDevices, fileTests, fileKernels, fileBench, fileJSON)
	return b.String()
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAILED"
}

func optFloat(v float64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f", v)
}

// checkReport verifies that dir holds a complete report: every file present, at most 8 files,
// report.json and devices.json parse, a device was selected, kernels were measured and every
// bench run without an error has a result with a throughput.
func checkReport(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) > 8 {
		return fmt.Errorf("%s holds %d files, more than 8", dir, len(ents))
	}
	for _, f := range []string{fileMD, fileJSON, fileDevices, fileTests, fileKernels, fileBench} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if st.Size() == 0 {
			return fmt.Errorf("%s is empty", f)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, fileDevices))
	if err != nil {
		return err
	}
	if _, err := parseDevices(b); err != nil {
		return err
	}
	if b, err = os.ReadFile(filepath.Join(dir, fileJSON)); err != nil {
		return err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", fileJSON, err)
	}
	switch {
	case r.Selected == nil:
		return fmt.Errorf("%s: no device selected", fileJSON)
	case r.Tests == nil || len(r.Tests.Packages) == 0:
		return fmt.Errorf("%s: no test results", fileJSON)
	case len(r.Kernels) == 0:
		return fmt.Errorf("%s: no kernel results", fileJSON)
	case len(r.Bench) == 0:
		return fmt.Errorf("%s: no vilt bench runs", fileJSON)
	}
	for _, k := range r.Kernels {
		if k.GFLOPS <= 0 {
			return fmt.Errorf("%s: kernel %s has no GFLOPS", fileJSON, k.Name)
		}
	}
	ran := 0
	for _, br := range r.Bench {
		if br.Error != "" {
			continue
		}
		var res vilt.BenchResult
		if err := json.Unmarshal(br.Result, &res); err != nil {
			return fmt.Errorf("%s: bench %s batch %d: %w", fileJSON, br.Precision, br.Batch, err)
		}
		if res.ThroughputPairsPerS <= 0 || res.LatencyMsMedian <= 0 || res.Batch != br.Batch {
			return fmt.Errorf("%s: bench %s batch %d: incomplete result (batch %d, %.2f pairs/s)", fileJSON, br.Precision, br.Batch, res.Batch, res.ThroughputPairsPerS)
		}
		ran++
	}
	if ran == 0 {
		return fmt.Errorf("%s: every vilt bench run failed", fileJSON)
	}
	return nil
}

// writeBestTiles summarises BenchmarkGEMMTiles (GPU-type devices): per M and shape, the
// fastest shared-memory tile and how it compares with the default large tile.
func writeBestTiles(w func(string, ...any), ks []KernelResult) {
	type key struct {
		m     int
		shape string
	}
	best := map[key]KernelResult{}
	base := map[key]float64{}
	var order []key
	for _, k := range ks {
		if k.Kernel != "GEMMTiles" {
			continue
		}
		kk := key{k.M, k.Shape}
		b, seen := best[kk]
		if !seen {
			order = append(order, kk)
		}
		if !seen || k.GFLOPS > b.GFLOPS {
			best[kk] = k
		}
		if k.Variant == "tiled-"+graph.TileLarge.String() {
			base[kk] = k.GFLOPS
		}
	}
	if len(order) == 0 {
		return
	}
	w("\n## Shared-memory GEMM tiles (BenchmarkGEMMTiles)\n\n")
	w("The fastest tile per shape; `VILT_GEMM_TILED=BMxBNxBKxTMxTN` applies one (default %s).\n\n", graph.TileLarge)
	w("| M | shape | best tile | GFLOPS | × default |\n| --- | --- | --- | --- | --- |\n")
	for _, kk := range order {
		b := best[kk]
		ratio := ""
		if base[kk] > 0 {
			ratio = fmt.Sprintf("%.2f", b.GFLOPS/base[kk])
		}
		w("| %d | %s | %s | %.1f | %s |\n", kk.m, kk.shape, strings.TrimPrefix(b.Variant, "tiled-"), b.GFLOPS, ratio)
	}
}
