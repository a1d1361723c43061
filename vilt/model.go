// Package vilt is ViLT (Kim, Son & Kim 2021) on Vulkan: the model and every transformers
// head (masked LM, VQA, NLVR2, image-text retrieval, token classification), loaded from
// Hugging Face checkpoints and run as one recorded command buffer per input shape on one or
// several devices.
package vilt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/graph"
	"github.com/vilt-vk/vilt-vk/weights"
)

// Model is a ViLT model with its head, with weights on one or more devices. Forward is safe
// for concurrent use: each device runs one forward at a time, and a batch is split across
// devices.
type Model struct {
	Config *Config
	Head   weights.Head

	replicas []*replica
	loadInfo LoadInfo
	owned    []*gpu.Device // devices Load opened, closed with the model
}

// LoadInfo describes what loading cost.
type LoadInfo struct {
	WeightBytes uint64 // device bytes per device
	Devices     []string
	Precision   Precision // how the weights are stored (fp32 or fp16, resolved from auto)
}

// Precision is how a model's large weights (GEMM weights, word embeddings) are stored on the
// device: fp32, fp16 (IEEE half; arithmetic and accumulation stay float32) or auto (fp16
// where the device reads half weights and that measured faster on its kind, else fp32).
type Precision = graph.Precision

// Precisions.
const (
	PrecisionAuto = graph.PrecisionAuto
	PrecisionFP32 = graph.PrecisionFP32
	PrecisionFP16 = graph.PrecisionFP16
)

// ParsePrecision reads "fp32", "fp16" or "auto".
func ParsePrecision(s string) (Precision, error) { return graph.ParsePrecision(s) }

// ModelOptions configure how a model is put on its devices.
type ModelOptions struct {
	Precision Precision // weight precision (zero: auto)
}

// replica is the model on one device.
type replica struct {
	cfg  *Config
	head weights.Head
	dev  *gpu.Device
	k    *graph.Kernels
	w    *deviceWeights

	mu    sync.Mutex // one forward at a time on this device
	cache map[shapeKey]*graph.Executable
	order []shapeKey // LRU, oldest first
}

// maxCachedShapes and maxCachedBytes bound the compiled forwards kept per device.
const (
	maxCachedShapes = 32
	maxCachedBytes  = 1 << 30
)

// New uploads a mapped checkpoint to each device. The devices stay owned by the caller.
// opts (at most one) sets the weight precision.
func New(ctx context.Context, cfg *Config, ckpt *weights.Model, devices []*gpu.Device, opts ...ModelOptions) (*Model, error) {
	var o ModelOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if len(devices) == 0 {
		return nil, fmt.Errorf("vilt: no device")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("vilt: config: %w", err)
	}
	if cfg.HiddenSize%cfg.NumAttentionHeads != 0 || (cfg.HiddenSize/cfg.NumAttentionHeads)%4 != 0 {
		return nil, fmt.Errorf("vilt: head dim %d×%d unsupported (multiple of 4 required)", cfg.HiddenSize, cfg.NumAttentionHeads)
	}
	head := weights.Head(cfg.Architecture())
	m := &Model{Config: cfg, Head: head}
	for _, d := range devices {
		k, err := graph.NewKernelsPrecision(d, o.Precision)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("vilt: %s: %w", d.Info().Name, err)
		}
		w, err := uploadWeights(ctx, k, cfg, ckpt, head)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("vilt: upload to %s: %w", d.Info().Name, err)
		}
		m.replicas = append(m.replicas, &replica{cfg: cfg, head: head, dev: d, k: k, w: w, cache: map[shapeKey]*graph.Executable{}})
		m.loadInfo.WeightBytes = w.bytes
		m.loadInfo.Precision = k.Precision()
		m.loadInfo.Devices = append(m.loadInfo.Devices, d.Info().Name)
	}
	return m, nil
}

// LoadInfo reports weight bytes per device and the device names.
func (m *Model) LoadInfo() LoadInfo { return m.loadInfo }

// Devices are the devices the model runs on.
func (m *Model) Devices() []*gpu.Device {
	out := make([]*gpu.Device, len(m.replicas))
	for i, r := range m.replicas {
		out[i] = r.dev
	}
	return out
}

// Close frees the weights and compiled forwards on every device (not the devices).
func (m *Model) Close() error {
	for _, r := range m.replicas {
		r.mu.Lock()
		for _, e := range r.cache {
			e.Close()
		}
		r.cache = nil
		if r.w != nil {
			r.w.free()
			r.w = nil
		}
		r.mu.Unlock()
	}
	m.replicas = nil
	CloseDevices(m.owned)
	m.owned = nil
	return nil
}

func (c *Config) numImages() int {
	if c.NumImages > 0 {
		return c.NumImages
	}
	return 2
}

// imagesPerExample is how many images one example carries for this head.
func (m *Model) imagesPerExample() int {
	if m.Head == weights.HeadNLVR2 {
		return m.Config.numImages()
	}
	return 1
}

// Tensor is a float32 output with its shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Outputs maps transformers' output names (last_hidden_state, pooler_output, logits,
// hidden_states.N, attentions.N; NLVR2 passes with the prefixes img0., img1.) to tensors.
// Image tokens are in the deterministic row-major order of golden README §3.5.
type Outputs struct {
	Tensors map[string]*Tensor
	// SeqLen is S = T + 1 + L, ImageTokens L; with several image passes (NLVR2) L is the
	// largest pass's, and PassImageTokens[pass] each pass's own (its tensors have
	// S = T + 1 + PassImageTokens[pass] rows, as in transformers).
	SeqLen, ImageTokens int
	PassImageTokens     []int
	// ImageTokenMask[pass] is [B, 1+L] with that pass's L: 1 for the image CLS and valid
	// patches, 0 for fillers.
	ImageTokenMask [][]int64
	// ImagePatches[pass] is [B, L]: the patch each image token embeds, as r·PatchCols + c in
	// the padded batch's patch grid of PatchRows × PatchCols (nil with image_embeds). Explain
	// uses it to put token attention back on the image.
	ImagePatches         [][]int32
	PatchRows, PatchCols int
	// Profile holds per-op GPU times (first device) when ForwardOptions.Profile was set.
	Profile []graph.OpTime
}

// Names lists the output tensor names, sorted.
func (o *Outputs) Names() []string {
	names := make([]string, 0, len(o.Tensors))
	for n := range o.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Logits returns the head's logits (nil for ViltModel).
func (o *Outputs) Logits() *Tensor { return o.Tensors["logits"] }

// Forward runs the model on a batch. With several devices the batch is split across them
// (each part keeps the whole batch's image token count, so outputs concatenate exactly).
func (m *Model) Forward(ctx context.Context, in *Inputs, opts ForwardOptions) (*Outputs, error) {
	if len(m.replicas) == 0 {
		return nil, fmt.Errorf("vilt: model closed")
	}
	if err := in.validate(m.Config, m.imagesPerExample()); err != nil {
		return nil, err
	}
	// The image token count L and the token plan of the whole batch, per image pass, made
	// once here: a batch split across devices keeps the whole batch's L and samples.
	L := 0
	passL := make([]int, in.NumImages)
	plans := make([]*imagePlan, in.NumImages) // nil with image_embeds
	for img := range plans {
		if in.ImageEmbeds != nil {
			L, passL[img] = in.ImageTokens, in.ImageTokens
			continue
		}
		pl, err := planImages(m.Config, in, img, opts.Seed, 0)
		if err != nil {
			return nil, err
		}
		plans[img], passL[img] = pl, pl.L
		L = max(L, pl.L)
	}
	// NLVR2: image passes with different token counts run together with the largest count;
	// a shorter pass's extra tokens are masked fillers after its own tokens (its plan with L
	// tokens starts with its plan with its own count), so no real token attends to them,
	// and cutPasses removes their rows afterwards.
	for img, pl := range plans {
		if pl != nil && pl.L != L {
			var err error
			if plans[img], err = planImages(m.Config, in, img, opts.Seed, L); err != nil {
				return nil, err
			}
		}
	}
	out, err := m.forwardParts(ctx, in, opts, L, plans)
	if err != nil {
		return nil, err
	}
	out.cutPasses(in.Batch, in.SeqLen, passL)
	return out, nil
}

// forwardParts runs the batch on one device, or split across the devices.
func (m *Model) forwardParts(ctx context.Context, in *Inputs, opts ForwardOptions, L int, plans []*imagePlan) (*Outputs, error) {
	n := min(len(m.replicas), in.Batch)
	if n == 1 {
		return m.replicas[0].forward(ctx, in, opts, L, plans)
	}
	parts := splitBatch(in, n)
	outs := make([]*Outputs, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	b0 := 0
	for i := range parts {
		partPlans := make([]*imagePlan, len(plans))
		for img, pl := range plans {
			if pl != nil {
				partPlans[img] = pl.slice(b0, parts[i].Batch)
			}
		}
		b0 += parts[i].Batch
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = m.replicas[i].forward(ctx, parts[i], opts, L, partPlans)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return concatOutputs(outs), nil
}

// splitBatch cuts a batch into n nearly equal parts along B.
func splitBatch(in *Inputs, n int) []*Inputs {
	var parts []*Inputs
	T, per := in.SeqLen, in.NumImages*in.Height*in.Width
	cper := per * len(in.PixelValues) / max(1, in.Batch*per)
	b0 := 0
	for i := 0; i < n; i++ {
		nb := in.Batch / n
		if i < in.Batch%n {
			nb++
		}
		p := *in
		p.Batch = nb
		p.InputIDs = in.InputIDs[b0*T : (b0+nb)*T]
		if in.AttentionMask != nil {
			p.AttentionMask = in.AttentionMask[b0*T : (b0+nb)*T]
		}
		if in.TokenTypeIDs != nil {
			p.TokenTypeIDs = in.TokenTypeIDs[b0*T : (b0+nb)*T]
		}
		if in.PixelValues != nil {
			p.PixelValues = in.PixelValues[b0*cper : (b0+nb)*cper]
		}
		if in.InputsEmbeds != nil {
			e := len(in.InputsEmbeds) / in.Batch
			p.InputsEmbeds = in.InputsEmbeds[b0*e : (b0+nb)*e]
		}
		if in.ImageEmbeds != nil {
			e := len(in.ImageEmbeds) / in.Batch
			p.ImageEmbeds = in.ImageEmbeds[b0*e : (b0+nb)*e]
			if in.ImageMask != nil {
				e := len(in.ImageMask) / in.Batch
				p.ImageMask = in.ImageMask[b0*e : (b0+nb)*e]
			}
		}
		if in.PixelMask != nil && in.ImageEmbeds == nil {
			p.PixelMask = in.PixelMask[b0*per : (b0+nb)*per]
		}
		parts = append(parts, &p)
		b0 += nb
	}
	return parts
}

// concatOutputs joins per-device outputs along the batch axis.
func concatOutputs(outs []*Outputs) *Outputs {
	res := &Outputs{Tensors: map[string]*Tensor{}, SeqLen: outs[0].SeqLen, ImageTokens: outs[0].ImageTokens, Profile: outs[0].Profile,
		PatchRows: outs[0].PatchRows, PatchCols: outs[0].PatchCols, PassImageTokens: outs[0].PassImageTokens}
	for name, t := range outs[0].Tensors {
		shape := append([]int(nil), t.Shape...)
		var data []float32
		for _, o := range outs {
			ot := o.Tensors[name]
			data = append(data, ot.Data...)
			if o != outs[0] {
				shape[0] += ot.Shape[0]
			}
		}
		res.Tensors[name] = &Tensor{Shape: shape, Data: data}
	}
	for pass := range outs[0].ImageTokenMask {
		var all []int64
		for _, o := range outs {
			all = append(all, o.ImageTokenMask[pass]...)
		}
		res.ImageTokenMask = append(res.ImageTokenMask, all)
	}
	for pass := range outs[0].ImagePatches {
		var all []int32
		for _, o := range outs {
			all = append(all, o.ImagePatches[pass]...)
		}
		res.ImagePatches = append(res.ImagePatches, all)
	}
	return res
}

// cutPasses gives each image pass's tensors (img<i>.hidden_states.*, img<i>.attentions.*,
// img<i>.last_hidden_state) and image-token mask that pass's own sequence length
// T + 1 + passL[i], dropping the trailing filler rows and columns of a pass that ran with a
// larger image token count. The kept values are those of the pass run alone: the dropped
// tokens were masked, so they got attention probability exactly 0.
func (o *Outputs) cutPasses(B, T int, passL []int) {
	o.PassImageTokens = passL
	S := o.SeqLen
	for pass, l := range passL {
		if l == o.ImageTokens || len(passL) == 1 {
			continue
		}
		Sp := T + 1 + l
		pfx := fmt.Sprintf("img%d.", pass)
		for name, t := range o.Tensors {
			rest, ok := strings.CutPrefix(name, pfx)
			if !ok {
				continue
			}
			switch {
			case rest == "last_hidden_state" || strings.HasPrefix(rest, "hidden_states."):
				o.Tensors[name] = cutAxes(t, []int{1}, S, Sp)
			case strings.HasPrefix(rest, "attentions."):
				o.Tensors[name] = cutAxes(t, []int{2, 3}, S, Sp)
			}
		}
		if pass < len(o.ImageTokenMask) {
			m := o.ImageTokenMask[pass]
			cut := make([]int64, 0, B*(1+l))
			for b := 0; b < B; b++ {
				cut = append(cut, m[b*(1+o.ImageTokens):b*(1+o.ImageTokens)+1+l]...)
			}
			o.ImageTokenMask[pass] = cut
		}
		if pass < len(o.ImagePatches) && o.ImagePatches[pass] != nil {
			pt := o.ImagePatches[pass]
			cut := make([]int32, 0, B*l)
			for b := 0; b < B; b++ {
				cut = append(cut, pt[b*o.ImageTokens:b*o.ImageTokens+l]...)
			}
			o.ImagePatches[pass] = cut
		}
	}
}

// cutAxes keeps the first n of the `from` entries along each of the given axes of t.
func cutAxes(t *Tensor, axes []int, from, n int) *Tensor {
	shape := slices.Clone(t.Shape)
	for _, a := range axes {
		if a >= len(shape) || shape[a] != from {
			return t // not a sequence tensor of this pass; left as it is
		}
		shape[a] = n
	}
	return &Tensor{Shape: shape, Data: cutCopy(make([]float32, 0, numel(shape)), t.Data, t.Shape, shape)}
}

// cutCopy appends the leading to-shaped block of src (laid out row-major as from) to dst.
func cutCopy(dst, src []float32, from, to []int) []float32 {
	if slices.Equal(from, to) {
		return append(dst, src[:numel(from)]...)
	}
	inner := numel(from[1:])
	for i := 0; i < to[0]; i++ {
		dst = cutCopy(dst, src[i*inner:], from[1:], to[1:])
	}
	return dst
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
