package vilt

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/weights/hub"
)

// InputsFromBatch converts the processor's output into model inputs (no copy).
func InputsFromBatch(b *processor.Batch) *Inputs {
	n := b.ImagesPerText
	if n == 0 {
		n = 1
	}
	return &Inputs{
		Batch: b.BatchSize, SeqLen: b.SeqLen, NumImages: n, Height: b.Height, Width: b.Width,
		InputIDs: b.InputIDs, AttentionMask: b.AttentionMask, TokenTypeIDs: b.TokenTypeIDs,
		PixelValues: b.PixelValues, PixelMask: b.PixelMask,
	}
}

// Pipeline is a model with its processor: what a transformers user gets from
// from_pretrained on both ViltProcessor and a ViLT model class.
type Pipeline struct {
	Model     *Model
	Processor *processor.Processor
	Dir       string // the local model folder
	// Name is the model as users know it: the hub id, or the folder's base name. Unlike
	// Dir it names no path on this machine (servers show it to clients).
	Name string
}

// LoadOptions configure Load.
type LoadOptions struct {
	// Devices to run on; when empty, Load opens the devices chosen by DeviceSelector.
	Devices []*gpu.Device
	// DeviceSelector is a gpu.Select selector ("" = VILT_DEVICE or the best device; "all").
	DeviceSelector string
	// Download missing files from the hub (default: only the local cache).
	Download bool
	// Hub overrides the hub client (tests); nil uses hub.NewClient().
	Hub *hub.Client
	// Precision of the weights on the device (zero: auto).
	Precision Precision
}

// Load loads a model folder or a hub id (org/name[@revision], found in the Hugging Face cache
// shared with Python, downloaded when allowed) with its processor. Devices Load opens are
// closed by Close.
func Load(ctx context.Context, pathOrID string, opts LoadOptions) (*Pipeline, error) {
	dir := pathOrID
	if !isDir(pathOrID) {
		c := opts.Hub
		if c == nil {
			c = hub.NewClient()
		}
		var err error
		dir, err = c.Locate(ctx, pathOrID, opts.Download)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", pathOrID, err)
		}
	}
	devices := opts.Devices
	var owned []*gpu.Device
	if len(devices) == 0 {
		var err error
		owned, err = OpenDevices(opts.DeviceSelector)
		if err != nil {
			return nil, err
		}
		devices = owned
	}
	m, err := LoadDir(ctx, dir, devices, ModelOptions{Precision: opts.Precision})
	if err != nil {
		CloseDevices(owned)
		return nil, err
	}
	m.owned = owned
	proc, err := processor.LoadProcessor(os.DirFS(dir))
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("load %s: processor: %w", dir, err)
	}
	name := pathOrID
	if dir == pathOrID {
		name = filepath.Base(filepath.Clean(dir))
	}
	return &Pipeline{Model: m, Processor: proc, Dir: dir, Name: name}, nil
}

// Close frees the model (and the devices Load opened).
func (p *Pipeline) Close() error { return p.Model.Close() }

// OpenDevices opens the devices a selector names (see gpu.Select) on one instance.
func OpenDevices(selector string) ([]*gpu.Device, error) {
	return gpu.OpenAll(gpu.Options{Selector: selector})
}

// CloseDevices closes devices and then the instances they were opened on.
func CloseDevices(devs []*gpu.Device) { gpu.CloseAll(devs) }

// Answer is one VQA answer, as transformers' visual-question-answering pipeline returns it.
type Answer struct {
	Score  float64 `json:"score"`
	Answer string  `json:"answer"`
}

// TopAnswers turns VQA logits [B, num_labels] into the top-k answers of each example, with
// sigmoid scores and config.id2label names (the pipeline's postprocessing).
func (m *Model) TopAnswers(logits *Tensor, k int) [][]Answer {
	if logits == nil || len(logits.Shape) != 2 {
		return nil
	}
	B, n := logits.Shape[0], logits.Shape[1]
	k = min(max(k, 1), n)
	out := make([][]Answer, B)
	for b := 0; b < B; b++ {
		row := logits.Data[b*n : (b+1)*n]
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return row[idx[i]] > row[idx[j]] })
		for _, i := range idx[:k] {
			name, ok := m.Config.ID2Label[i]
			if !ok {
				name = fmt.Sprintf("LABEL_%d", i)
			}
			out[b] = append(out[b], Answer{Score: sigmoid(float64(row[i])), Answer: name})
		}
	}
	return out
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
