package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
	"unsafe"

	"github.com/vilt-vk/vilt-vk/graph"
	"github.com/vilt-vk/vilt-vk/vilt"
	"github.com/vilt-vk/vilt-vk/weights"
)

func init() {
	register(&command{
		name:    "forward",
		summary: "run the model on transformers-named input tensors (parity tool)",
		run:     runForward,
	})
}

func runForward(args []string, stdout io.Writer) error {
	fs := newFlagSet("forward")
	model := fs.String("model", "", "model folder or hub id ORG/NAME[@REV] (required)")
	inPath := fs.String("inputs", "", "input .safetensors: input_ids, attention_mask, token_type_ids (I64), pixel_values (F32 [B,3,H,W] or [B,N,3,H,W]), pixel_mask (I64, optional)")
	outPath := fs.String("output", "", "output .safetensors (F32 tensors under transformers' names)")
	hidden := fs.Bool("hidden-states", false, "also write hidden_states.N")
	attn := fs.Bool("attentions", false, "also write attentions.N")
	device := fs.String("device", "", "device index, name substring, list or 'all' (default VILT_DEVICE or the best device)")
	head := fs.String("head", "", "override config.json architectures (e.g. ViltModel)")
	precision := precisionFlag(fs)
	download := fs.Bool("download", true, "download a hub model missing from the cache (as the task commands do; HF_HUB_OFFLINE=1 or --download=false: cache only)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || *inPath == "" || *outPath == "" {
		return usageErrorf("--model, --inputs and --output are required")
	}
	prec, err := vilt.ParsePrecision(*precision)
	if err != nil {
		return usageErrorf("--precision: %v", err)
	}
	ctx, stop := signalContext()
	defer stop()
	in, err := readInputs(*inPath)
	if err != nil {
		return err
	}
	dir, err := locateModel(ctx, *model, *download, false)
	if err != nil {
		return err
	}
	devs, err := vilt.OpenDevices(*device)
	if err != nil {
		return err
	}
	defer vilt.CloseDevices(devs)
	t0 := time.Now()
	m, err := vilt.LoadDirAs(ctx, dir, weights.Head(*head), devs, vilt.ModelOptions{Precision: prec})
	if err != nil {
		return err
	}
	defer m.Close()
	slog.Debug("model loaded", "dir", dir, "head", m.Head, "seconds", time.Since(t0).Seconds())
	profile := os.Getenv("VILT_PROFILE") == "1"
	out, err := m.Forward(ctx, in, vilt.ForwardOptions{OutputHiddenStates: *hidden, OutputAttentions: *attn, Profile: profile})
	if err != nil {
		return err
	}
	if profile {
		printProfile(os.Stderr, out.Profile, 10)
	}
	return writeOutputs(*outPath, out, map[string]string{"producer": "vilt-vk", "model": *model, "head": string(m.Head)})
}

// printProfile prints the top-n ops by GPU time (VILT_PROFILE=1).
func printProfile(w io.Writer, prof []graph.OpTime, n int) {
	var total time.Duration
	for _, o := range prof {
		total += o.Total
	}
	if total == 0 {
		fmt.Fprintln(w, "profile: the device reports no timestamps")
		return
	}
	fmt.Fprintf(w, "profile: %.2f ms of GPU time in %d op kinds\n", float64(total.Microseconds())/1e3, len(prof))
	for i, o := range prof {
		if i == n {
			break
		}
		fmt.Fprintf(w, "  %-28s %4d× %9.2f ms %5.1f%%\n", o.Op, o.Count, float64(o.Total.Microseconds())/1e3, 100*float64(o.Total)/float64(total))
	}
}

// readInputs reads transformers-named tensors into model inputs.
func readInputs(path string) (*vilt.Inputs, error) {
	st, err := weights.OpenSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	}
	defer st.Close()
	get := func(name string, required bool) (*weights.Tensor, error) {
		t, err := st.Tensor(name)
		if err != nil {
			if required {
				return nil, fmt.Errorf("inputs %s: missing %s", path, name)
			}
			return nil, nil
		}
		return t, nil
	}
	ids, err := get("input_ids", true)
	if err != nil {
		return nil, err
	}
	pv, err := get("pixel_values", true)
	if err != nil {
		return nil, err
	}
	if len(ids.Shape) != 2 {
		return nil, fmt.Errorf("inputs: input_ids must be [B, T], got %v", ids.Shape)
	}
	in := &vilt.Inputs{Batch: ids.Shape[0], SeqLen: ids.Shape[1]}
	switch len(pv.Shape) {
	case 4:
		in.NumImages, in.Height, in.Width = 1, pv.Shape[2], pv.Shape[3]
	case 5:
		in.NumImages, in.Height, in.Width = pv.Shape[1], pv.Shape[3], pv.Shape[4]
	default:
		return nil, fmt.Errorf("inputs: pixel_values must be [B,3,H,W] or [B,N,3,H,W], got %v", pv.Shape)
	}
	if pv.Shape[0] != in.Batch {
		return nil, fmt.Errorf("inputs: pixel_values batch %d, input_ids batch %d", pv.Shape[0], in.Batch)
	}
	if in.InputIDs, err = ids.Int64s(); err != nil {
		return nil, fmt.Errorf("inputs: input_ids: %w", err)
	}
	if in.PixelValues, err = pv.Float32s(); err != nil {
		return nil, fmt.Errorf("inputs: pixel_values: %w", err)
	}
	for _, opt := range []struct {
		name string
		dst  *[]int64
	}{{"attention_mask", &in.AttentionMask}, {"token_type_ids", &in.TokenTypeIDs}, {"pixel_mask", &in.PixelMask}} {
		t, _ := get(opt.name, false)
		if t == nil {
			continue
		}
		v, err := t.Int64s()
		if err != nil {
			return nil, fmt.Errorf("inputs: %s: %w", opt.name, err)
		}
		*opt.dst = v
	}
	return in, nil
}

// writeOutputs writes every output tensor as F32, atomically (temp file, then rename).
func writeOutputs(path string, out *vilt.Outputs, meta map[string]string) error {
	var ts []*weights.Tensor
	for _, name := range out.Names() {
		t := out.Tensors[name]
		var b []byte
		if len(t.Data) > 0 {
			b = unsafe.Slice((*byte)(unsafe.Pointer(&t.Data[0])), 4*len(t.Data))
		}
		wt, err := weights.NewTensor(name, weights.F32, t.Shape, b)
		if err != nil {
			return fmt.Errorf("output %s: %w", name, err)
		}
		ts = append(ts, wt)
	}
	return writeFileAtomic(path, func(w io.Writer) error { return weights.WriteSafetensors(w, ts, meta) })
}
