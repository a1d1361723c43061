package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/vilt-vk/vilt-vk/vilt"
	"github.com/vilt-vk/vilt-vk/weights"
	"github.com/vilt-vk/vilt-vk/weights/hub"
)

func init() {
	register(&command{
		name:    "inspect",
		summary: "list a checkpoint's tensors, parameter count, config and heads (folder, file or cached hub id)",
		run:     runInspect,
	})
}

// inspectReport is the --json output of vilt inspect.
type inspectReport struct {
	Path         string            `json:"path"`
	WeightsFile  string            `json:"weights_file"`
	Format       string            `json:"format"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	Config       *inspectConfig    `json:"config,omitempty"`
	Head         string            `json:"head"` // class detected from the keys
	HeadsPresent []string          `json:"heads_present"`
	NumTensors   int               `json:"num_tensors"`
	NumParams    int64             `json:"num_parameters"`
	Bytes        int64             `json:"bytes"`
	DTypes       map[string]int    `json:"dtypes"`
	Mapping      string            `json:"mapping"` // "ok", "no config.json", or every difference
	Tensors      []inspectTensor   `json:"tensors,omitempty"`
}

type inspectConfig struct {
	Architecture          string   `json:"architecture"`
	HiddenSize            int      `json:"hidden_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	IntermediateSize      int      `json:"intermediate_size"`
	VocabSize             int      `json:"vocab_size"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	ImageSize             int      `json:"image_size"`
	PatchSize             int      `json:"patch_size"`
	ModalityTypeVocabSize int      `json:"modality_type_vocab_size"`
	NumImages             int      `json:"num_images"`
	MaxImageLength        int      `json:"max_image_length"`
	HiddenAct             string   `json:"hidden_act"`
	LayerNormEps          float64  `json:"layer_norm_eps"`
	NumLabels             int      `json:"num_labels"`
	FirstLabels           []string `json:"first_labels,omitempty"`
	ExpectedParams        int64    `json:"expected_parameters"`
}

type inspectTensor struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

func runInspect(args []string, stdout io.Writer) error {
	fs := newFlagSet("inspect")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vilt inspect [flags] PATH|ORG/NAME[@REVISION]")
		fmt.Fprintln(fs.Output(), "\nPATH is a model folder or a weight file (.safetensors, .bin, *.index.json). A hub id is")
		fmt.Fprintln(fs.Output(), "looked up in the Hugging Face cache only; fetch it first with 'vilt download'.")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print a JSON report")
	noTensors := fs.Bool("no-tensors", false, "leave out the per-tensor list")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() != 1 {
		return usageErrorf("want one PATH or model id, got %d arguments", fs.NArg())
	}
	rep, err := inspectModel(fs.Arg(0), !*noTensors)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	inspectPrint(stdout, rep)
	return nil
}

// inspectModel opens what arg names and reports on it.
func inspectModel(arg string, withTensors bool) (*inspectReport, error) {
	path := arg
	st, err := os.Stat(arg)
	if err != nil {
		if _, perr := hub.ParseRef(arg); perr != nil || filepath.IsAbs(arg) || strings.HasPrefix(arg, ".") {
			return nil, err
		}
		c := hub.NewClient()
		if path, err = c.Locate(context.Background(), arg, false); err != nil {
			if errors.Is(err, hub.ErrNotCached) {
				return nil, fmt.Errorf("%w; run 'vilt download %s' first", err, arg)
			}
			return nil, err
		}
		st, err = os.Stat(path)
		if err != nil {
			return nil, err
		}
	}
	dir, weightsFile := path, ""
	if st.IsDir() {
		for _, f := range weights.WeightFiles {
			if _, err := os.Stat(filepath.Join(path, f)); err == nil {
				weightsFile = filepath.Join(path, f)
				break
			}
		}
		if weightsFile == "" {
			return nil, fmt.Errorf("%s: %w: no weight file (%s)", path, weights.ErrNotFound, strings.Join(weights.WeightFiles, ", "))
		}
	} else {
		dir, weightsFile = filepath.Dir(path), path
	}
	ckpt, err := weights.Open(weightsFile)
	if err != nil {
		return nil, err
	}
	defer ckpt.Close()

	rep := &inspectReport{Path: path, WeightsFile: weightsFile, DTypes: map[string]int{}}
	switch c := ckpt.(type) {
	case *weights.Safetensors:
		rep.Format, rep.Metadata = "safetensors", c.Metadata()
	case *weights.PyTorch:
		rep.Format = "pytorch zip"
	case *weights.Sharded:
		rep.Format = "sharded"
	}
	for _, name := range ckpt.Names() {
		t, err := ckpt.Tensor(name)
		if err != nil {
			return nil, err
		}
		rep.NumTensors++
		rep.DTypes[t.DType.String()]++
		rep.Bytes += int64(t.NumElements() * t.DType.Size())
		if t.DType.IsFloat() && !strings.HasSuffix(name, "mlm_score.decoder.bias") {
			rep.NumParams += int64(t.NumElements())
		}
		if withTensors {
			rep.Tensors = append(rep.Tensors, inspectTensor{name, t.DType.String(), t.Shape})
		}
	}
	if slicesContains(ckpt.Names(), "mlm_score.decoder.bias") && !slicesContains(ckpt.Names(), "mlm_score.bias") {
		if t, err := ckpt.Tensor("mlm_score.decoder.bias"); err == nil {
			rep.NumParams += int64(t.NumElements())
		}
	}
	head := weights.DetectHeadFrom(ckpt)
	rep.Head = string(head)
	rep.HeadsPresent = inspectHeads(ckpt.Names(), head)

	cfg, err := vilt.LoadConfigFile(filepath.Join(dir, "config.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
		rep.Mapping = "no config.json next to the weights"
	case err != nil:
		rep.Mapping = "config.json: " + oneLine(err)
	default:
		spec := cfg.Spec()
		rep.Config = &inspectConfig{
			Architecture: cfg.Architecture(), HiddenSize: cfg.HiddenSize, NumHiddenLayers: cfg.NumHiddenLayers,
			NumAttentionHeads: cfg.NumAttentionHeads, IntermediateSize: cfg.IntermediateSize, VocabSize: cfg.VocabSize,
			MaxPositionEmbeddings: cfg.MaxPositionEmbeddings, ImageSize: cfg.ImageSize, PatchSize: cfg.PatchSize,
			ModalityTypeVocabSize: cfg.ModalityTypeVocabSize, NumImages: cfg.NumImages, MaxImageLength: cfg.MaxImageLength,
			HiddenAct: cfg.HiddenAct, LayerNormEps: cfg.LayerNormEps, NumLabels: cfg.NumLabels(),
			ExpectedParams: spec.NumParams(),
		}
		for i := 0; i < min(cfg.NumLabels(), 5); i++ {
			rep.Config.FirstLabels = append(rep.Config.FirstLabels, cfg.ID2Label[i])
		}
		if m, err := weights.MapViLT(nopClose{ckpt}, spec); err != nil {
			rep.Mapping = oneLine(err)
		} else {
			rep.Mapping = fmt.Sprintf("ok (strict: %d tensors match the config)", len(m.Names()))
		}
	}
	return rep, nil
}

// nopClose keeps MapViLT's Model from closing the checkpoint inspect still uses.
type nopClose struct{ weights.Checkpoint }

func (nopClose) Close() error { return nil }

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// inspectHeads names the parts of the model the keys contain.
func inspectHeads(names []string, head weights.Head) []string {
	has := func(p string) bool {
		for _, n := range names {
			if strings.HasPrefix(n, p) {
				return true
			}
		}
		return false
	}
	var out []string
	switch {
	case has("vilt.embeddings."):
		out = append(out, "backbone (prefix vilt.)")
	case has("embeddings."):
		out = append(out, "backbone")
	}
	if has("pooler.") || has("vilt.pooler.") {
		out = append(out, "pooler")
	}
	switch head {
	case weights.HeadMLM:
		out = append(out, "mlm_score (masked LM)")
	case weights.HeadVQA:
		out = append(out, "classifier (VQA)")
	case weights.HeadNLVR2:
		out = append(out, "classifier (NLVR2)")
	case weights.HeadRetrieval:
		out = append(out, "rank_output (retrieval)")
	case weights.HeadTokenClassification:
		out = append(out, "classifier (token classification)")
	}
	return out
}

func inspectPrint(w io.Writer, r *inspectReport) {
	dts := make([]string, 0, len(r.DTypes))
	for d, n := range r.DTypes {
		dts = append(dts, fmt.Sprintf("%s×%d", d, n))
	}
	sort.Strings(dts)
	fmt.Fprintf(w, "model     %s\n", r.Path)
	fmt.Fprintf(w, "weights   %s (%s)\n", filepath.Base(r.WeightsFile), r.Format)
	fmt.Fprintf(w, "tensors   %d (%s), %s parameters, %.1f MB\n", r.NumTensors, strings.Join(dts, " "), inspectThousands(r.NumParams), float64(r.Bytes)/1e6)
	fmt.Fprintf(w, "class     %s (from the keys)\n", r.Head)
	fmt.Fprintf(w, "heads     %s\n", strings.Join(r.HeadsPresent, ", "))
	if c := r.Config; c != nil {
		fmt.Fprintf(w, "config    %s: hidden %d, %d layers × %d heads, intermediate %d, %s\n", c.Architecture, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.HiddenAct)
		grid := 0
		if c.PatchSize > 0 {
			grid = c.ImageSize / c.PatchSize
		}
		fmt.Fprintf(w, "          text: vocab %d, ≤ %d tokens; image: %d px, patch %d (%d×%d grid), modality types %d, num_images %d\n",
			c.VocabSize, c.MaxPositionEmbeddings, c.ImageSize, c.PatchSize, grid, grid, c.ModalityTypeVocabSize, c.NumImages)
		fmt.Fprintf(w, "          %d labels", c.NumLabels)
		if len(c.FirstLabels) > 0 {
			fmt.Fprintf(w, " (%s", strings.Join(c.FirstLabels, ", "))
			if c.NumLabels > len(c.FirstLabels) {
				fmt.Fprint(w, ", …")
			}
			fmt.Fprint(w, ")")
		}
		fmt.Fprintf(w, "; config expects %s parameters\n", inspectThousands(c.ExpectedParams))
	}
	fmt.Fprintf(w, "mapping   %s\n", r.Mapping)
	if len(r.Tensors) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, t := range r.Tensors {
			fmt.Fprintf(tw, "%s\t%s\t%v\n", t.Name, t.DType, t.Shape)
		}
		tw.Flush()
	}
}

func inspectThousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
