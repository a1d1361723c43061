package vilt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/weights"
)

// DefaultTaskBatch is how many examples the tasks put into one forward when no batch size
// is given (the forward splits each batch across the model's devices).
const DefaultTaskBatch = 16

// Example is one model input before batching: an encoded text (unpadded) and its prepared,
// unpadded image(s): one, or two for NLVR2 (left, right).
type Example struct {
	Encoding processor.Encoding
	Images   []*processor.PixelImage
	// Outputs names the output tensors to return for this example; nil means "logits" and
	// "pooler_output" (a per-example last_hidden_state is large: ask for it by name).
	Outputs []string
}

// DefaultExampleOutputs are the outputs an Example gets when it names none.
var DefaultExampleOutputs = []string{"logits", "pooler_output"}

// RunFunc runs examples through the model and returns each example's outputs (batch 1).
// Pipeline.RunExamples is one; the server's dynamic batcher is another.
type RunFunc func(ctx context.Context, ex []Example) ([]*Outputs, error)

// ErrWrongHead: the task needs another model class.
var ErrWrongHead = errors.New("the model's head does not do this task")

// ErrBadInput marks errors in the caller's inputs (no mask token, text too long, image
// too large or undecodable, wrong counts): the server answers them with a 4xx.
var ErrBadInput = errors.New("bad input")

func badInput(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadInput, fmt.Sprintf(format, a...))
}

// Tasks runs the transformers-style tasks (VQA, fill-mask, NLVR2, retrieval ranking,
// embeddings) on a pipeline. The zero values of the knobs are the defaults; the Pipeline
// methods of the same names use a zero Tasks.
type Tasks struct {
	P *Pipeline
	// Run executes examples; nil runs them on P in batches of BatchSize.
	Run RunFunc
	// BatchSize bounds the examples per forward when Run is nil (default DefaultTaskBatch),
	// and the examples handed to Run at once when set.
	BatchSize int
	// Progress, when set, is told how many examples of the current call are done.
	Progress func(done, total int)
	// Truncation of over-long text (default: cut to 40 tokens with one warning;
	// processor.TruncationError refuses it).
	Truncation processor.Truncation
}

// Tasks returns the task runner of the pipeline with default settings.
func (p *Pipeline) Tasks() *Tasks { return &Tasks{P: p} }

// VQA answers every question about every image (results[i*len(questions)+j] is image i,
// question j), batched, as transformers' visual-question-answering pipeline: the top-k
// labels with sigmoid scores.
func (p *Pipeline) VQA(ctx context.Context, images []*processor.RGBImage, questions []string, topK int) ([][]Answer, error) {
	return p.Tasks().VQA(ctx, images, questions, topK)
}

// FillMask fills the [MASK] tokens of text one at a time, most confident first.
func (p *Pipeline) FillMask(ctx context.Context, image *processor.RGBImage, text string, topK int) (*FillMaskResult, error) {
	return p.Tasks().FillMask(ctx, image, text, topK)
}

// NLVR2 decides whether text is true of the image pair.
func (p *Pipeline) NLVR2(ctx context.Context, left, right *processor.RGBImage, text string) (*NLVR2Result, error) {
	return p.Tasks().NLVR2(ctx, left, right, text)
}

// Rank scores every image against every text with the retrieval head.
func (p *Pipeline) Rank(ctx context.Context, images []*processor.RGBImage, texts []string, topK int) (*RankResult, error) {
	return p.Tasks().Rank(ctx, images, texts, topK)
}

// Embed returns the pooler output and last hidden state of one image-text pair.
func (p *Pipeline) Embed(ctx context.Context, image *processor.RGBImage, text string) (*Embedding, error) {
	return p.Tasks().Embed(ctx, image, text)
}

// NeedHead checks that the model has the head a task needs.
func (p *Pipeline) NeedHead(task string, h weights.Head) error {
	if p.Model.Head != h {
		name := p.Name
		if name == "" {
			name = p.Dir
		}
		return fmt.Errorf("%w: %s needs a %s model (e.g. %s); %s is a %s", ErrWrongHead, task, h, DefaultModel(task), name, p.Model.Head)
	}
	return nil
}

// DefaultModel is the dandelin checkpoint of a task ("" for an unknown task).
func DefaultModel(task string) string {
	switch task {
	case "vqa":
		return "dandelin/vilt-b32-finetuned-vqa"
	case "fill-mask", "embed":
		return "dandelin/vilt-b32-mlm"
	case "nlvr2":
		return "dandelin/vilt-b32-finetuned-nlvr2"
	case "rank":
		return "dandelin/vilt-b32-finetuned-coco"
	}
	return ""
}

// Encode tokenizes one text (and optional pair) with the tasks' truncation policy.
func (t *Tasks) Encode(text, pair string) (processor.Encoding, error) {
	e, err := t.P.Processor.Tokenizer.Encode(text, pair, processor.EncodeOptions{Padding: processor.PaddingNone, Truncation: t.Truncation})
	if err != nil {
		if errors.Is(err, processor.ErrTextTooLong) {
			return e, fmt.Errorf("%w: %v", ErrBadInput, err)
		}
		return e, err
	}
	if len(e.IDs) == 0 {
		return e, badInput("empty text")
	}
	return e, nil
}

// PrepareImage resizes and normalises one image as the model's image processor does.
func (p *Pipeline) PrepareImage(img *processor.RGBImage) (*processor.PixelImage, error) {
	if img == nil {
		return nil, badInput("nil image")
	}
	pi, err := p.Processor.Images.Prepare(img)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return pi, nil
}

func (p *Pipeline) prepareAll(images []*processor.RGBImage) ([]*processor.PixelImage, error) {
	out := make([]*processor.PixelImage, len(images))
	for i, img := range images {
		pi, err := p.PrepareImage(img)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		out[i] = pi
	}
	return out, nil
}

// example prepares the images of one example (one, or NLVR2's left and right) and encodes
// its text.
func (t *Tasks) example(text string, images ...*processor.RGBImage) (Example, error) {
	pix, err := t.P.prepareAll(images)
	if err != nil {
		return Example{}, err
	}
	enc, err := t.Encode(text, "")
	if err != nil {
		return Example{}, err
	}
	return Example{Encoding: enc, Images: pix}, nil
}

// crossExamples pairs every image with every text, image-major: example i·len(texts)+j is
// image i with text j. Each image is prepared and each text encoded once; textName names
// a text in errors ("question", "text").
func (t *Tasks) crossExamples(images []*processor.RGBImage, texts []string, textName string) ([]Example, error) {
	pix, err := t.P.prepareAll(images)
	if err != nil {
		return nil, err
	}
	encs := make([]processor.Encoding, len(texts))
	for j, s := range texts {
		if encs[j], err = t.Encode(s, ""); err != nil {
			return nil, fmt.Errorf("%s %d: %w", textName, j, err)
		}
	}
	ex := make([]Example, 0, len(pix)*len(encs))
	for i := range pix {
		for j := range encs {
			ex = append(ex, Example{Encoding: encs[j], Images: []*processor.PixelImage{pix[i]}})
		}
	}
	return ex, nil
}

// BatchInputs pads examples into one batch: text to the longest (pad token, attention 0),
// images to the largest (zeros, pixel_mask 0), exactly as ViltProcessor pads a batch.
func (p *Pipeline) BatchInputs(ex []Example) (*Inputs, error) {
	return p.batchInputs(ex, 0)
}

// batchInputs pads text to the longest example, rounded up to a multiple of textMultiple
// (when > 0, capped at max_position_embeddings): fewer distinct shapes to compile.
func (p *Pipeline) batchInputs(ex []Example, textMultiple int) (*Inputs, error) {
	if len(ex) == 0 {
		return nil, errors.New("vilt: no examples")
	}
	n := len(ex[0].Images)
	T := 0
	for i, e := range ex {
		if len(e.Images) != n || n == 0 {
			return nil, fmt.Errorf("vilt: example %d has %d image(s), example 0 has %d", i, len(e.Images), n)
		}
		T = max(T, len(e.Encoding.IDs))
	}
	if textMultiple > 1 && T <= p.Model.Config.MaxPositionEmbeddings {
		T = min((T+textMultiple-1)/textMultiple*textMultiple, p.Model.Config.MaxPositionEmbeddings)
	}
	tok := p.Processor.Tokenizer
	padID, _ := tok.Vocab().ID(tok.Options().PadToken)
	B := len(ex)
	in := &Inputs{Batch: B, SeqLen: T, NumImages: n,
		InputIDs: make([]int64, B*T), TokenTypeIDs: make([]int64, B*T), AttentionMask: make([]int64, B*T)}
	imgs := make([]*processor.PixelImage, 0, B*n)
	for b, e := range ex {
		for t := 0; t < T; t++ {
			if t < len(e.Encoding.IDs) {
				in.InputIDs[b*T+t] = e.Encoding.IDs[t]
				if t < len(e.Encoding.TypeIDs) {
					in.TokenTypeIDs[b*T+t] = e.Encoding.TypeIDs[t]
				}
				in.AttentionMask[b*T+t] = 1
				if t < len(e.Encoding.AttentionMask) {
					in.AttentionMask[b*T+t] = e.Encoding.AttentionMask[t]
				}
			} else {
				in.InputIDs[b*T+t] = int64(padID)
			}
		}
		imgs = append(imgs, e.Images...)
	}
	pb, err := p.Processor.Images.Pad(imgs)
	if err != nil {
		return nil, err
	}
	in.Height, in.Width = pb.Height, pb.Width
	in.PixelValues, in.PixelMask = pb.PixelValues, pb.PixelMask
	return in, nil
}

// RunExamples runs examples in one forward (split across devices by Forward) and returns
// each example's outputs (those its Outputs names) with batch 1. MLM/token-classification
// logits are cut to the example's own text length; last_hidden_state and hidden_states keep
// the batch's padded sequence layout (text padding, then image CLS and the image tokens).
func (p *Pipeline) RunExamples(ctx context.Context, ex []Example) ([]*Outputs, error) {
	return p.RunExamplesPadded(ctx, ex, 0)
}

// RunExamplesPadded is RunExamples with the text padded to a multiple of textMultiple
// tokens (masked, so outputs change only by float rounding): a server keeps fewer
// compiled shapes that way.
func (p *Pipeline) RunExamplesPadded(ctx context.Context, ex []Example, textMultiple int) ([]*Outputs, error) {
	in, err := p.batchInputs(ex, textMultiple)
	if err != nil {
		return nil, err
	}
	out, err := p.Model.Forward(ctx, in, ForwardOptions{SkipLastHiddenState: !wantsLastHidden(ex)})
	if err != nil {
		return nil, err
	}
	return SplitOutputs(out, in.Batch, in.SeqLen, ex, p.Model.Head), nil
}

// wantsLastHidden reports whether an example asks for a last_hidden_state (NLVR2:
// img<i>.last_hidden_state); without one the forward skips computing it.
func wantsLastHidden(ex []Example) bool {
	for _, e := range ex {
		for _, name := range e.Outputs {
			if strings.HasSuffix(name, "last_hidden_state") {
				return true
			}
		}
	}
	return false
}

// SplitOutputs cuts a batch's outputs into per-example outputs (see RunExamples).
func SplitOutputs(out *Outputs, B, T int, ex []Example, head weights.Head) []*Outputs {
	res := make([]*Outputs, B)
	for b := range res {
		o := &Outputs{Tensors: map[string]*Tensor{}, SeqLen: out.SeqLen, ImageTokens: out.ImageTokens, PassImageTokens: out.PassImageTokens}
		want := ex[b].Outputs
		if want == nil {
			want = DefaultExampleOutputs
		}
		for _, name := range want {
			t, ok := out.Tensors[name]
			if !ok {
				continue
			}
			if len(t.Shape) == 0 || t.Shape[0] != B {
				o.Tensors[name] = t
				continue
			}
			row := len(t.Data) / B
			shape := append([]int{1}, t.Shape[1:]...)
			data := t.Data[b*row : (b+1)*row]
			if name == "logits" && len(shape) == 3 && shape[1] == T && (head == weights.HeadMLM || head == weights.HeadTokenClassification) {
				ti := len(ex[b].Encoding.IDs)
				data = data[:ti*shape[2]]
				shape[1] = ti
			}
			o.Tensors[name] = &Tensor{Shape: shape, Data: append([]float32(nil), data...)}
		}
		for _, m := range out.ImageTokenMask {
			if ex[b].Outputs == nil {
				break // only the sequence outputs need the image-token mask
			}
			row := len(m) / B
			o.ImageTokenMask = append(o.ImageTokenMask, append([]int64(nil), m[b*row:(b+1)*row]...))
		}
		res[b] = o
	}
	return res
}

// run executes examples through t.Run or in chunks on the pipeline, reporting progress.
func (t *Tasks) run(ctx context.Context, ex []Example) ([]*Outputs, error) {
	if t.Run != nil && t.Progress == nil && (t.BatchSize <= 0 || len(ex) <= t.BatchSize) {
		return t.Run(ctx, ex)
	}
	bs := t.BatchSize
	if bs <= 0 {
		bs = DefaultTaskBatch
		if t.Run != nil {
			bs = max(bs, len(ex)/20+1) // a runner batches on its own; chunks only pace the progress
		}
	}
	out := make([]*Outputs, 0, len(ex))
	for i := 0; i < len(ex); i += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := ex[i:min(i+bs, len(ex))]
		var o []*Outputs
		var err error
		if t.Run != nil {
			o, err = t.Run(ctx, chunk)
		} else {
			o, err = t.P.RunExamples(ctx, chunk)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, o...)
		if t.Progress != nil {
			t.Progress(len(out), len(ex))
		}
	}
	return out, nil
}

// VQA: see Pipeline.VQA.
func (t *Tasks) VQA(ctx context.Context, images []*processor.RGBImage, questions []string, topK int) ([][]Answer, error) {
	if err := t.P.NeedHead("vqa", weights.HeadVQA); err != nil {
		return nil, err
	}
	if len(images) == 0 || len(questions) == 0 {
		return nil, badInput("vqa needs at least one image and one question")
	}
	if topK <= 0 {
		topK = 5
	}
	ex, err := t.crossExamples(images, questions, "question")
	if err != nil {
		return nil, err
	}
	outs, err := t.run(ctx, ex)
	if err != nil {
		return nil, err
	}
	res := make([][]Answer, len(outs))
	for i, o := range outs {
		res[i] = t.P.Model.TopAnswers(o.Logits(), topK)[0]
	}
	return res, nil
}

// Candidate is one fill-mask candidate, in transformers' fill-mask pipeline shape.
type Candidate struct {
	Score    float64 `json:"score"`
	Token    int64   `json:"token"`
	TokenStr string  `json:"token_str"`
	Sequence string  `json:"sequence"` // the text with this candidate in the mask
}

// FillStep is one filled [MASK]: the most confident mask of that round.
type FillStep struct {
	// Mask is the index of the filled mask among the text's masks (0 = the first).
	Mask       int         `json:"mask"`
	Position   int         `json:"position"` // token position (0 = [CLS])
	Token      int64       `json:"token"`
	TokenStr   string      `json:"token_str"`
	Score      float64     `json:"score"`
	Candidates []Candidate `json:"candidates"`
	// Explanation is where the mask looked (Tasks.ExplainFillMask).
	Explanation *PatchMap          `json:"explanation,omitempty"`
	input       processor.Encoding // the text this step read
}

// FillMaskResult is the iterative fill of transformers' ViltForMaskedLM example.
type FillMaskResult struct {
	Sequence string     `json:"sequence"` // the text with every mask filled
	Steps    []FillStep `json:"steps"`    // in fill order
}

// FillMask follows the ViltForMaskedLM docstring: tokenize the text, run the model, take
// softmax(logits).max over each text position, keep only positions that are still [MASK],
// fill the most confident one with its argmax token, decode and repeat until no mask is
// left. Each step also lists that mask's top-k candidates.
func (t *Tasks) FillMask(ctx context.Context, image *processor.RGBImage, text string, topK int) (*FillMaskResult, error) {
	if err := t.P.NeedHead("fill-mask", weights.HeadMLM); err != nil {
		return nil, err
	}
	if topK <= 0 {
		topK = 5
	}
	tok := t.P.Processor.Tokenizer
	maskTok := tok.Options().MaskToken
	maskID, ok := tok.Vocab().ID(maskTok)
	if !ok {
		return nil, fmt.Errorf("fill-mask: the vocabulary has no mask token %q", maskTok)
	}
	ex, err := t.example(text, image)
	if err != nil {
		return nil, err
	}
	enc := ex.Encoding
	// origin[k] is the original mask index of the k-th mask still in the text.
	var origin []int
	for _, id := range enc.IDs {
		if id == int64(maskID) {
			origin = append(origin, len(origin))
		}
	}
	if len(origin) == 0 {
		return nil, badInput("fill-mask: the text has no %s token", maskTok)
	}
	res := &FillMaskResult{}
	total := len(origin)
	for step := 0; step < total; step++ {
		if step > 0 {
			if enc, err = t.Encode(res.Sequence, ""); err != nil {
				return nil, err
			}
		}
		outs, err := t.run(ctx, []Example{{Encoding: enc, Images: ex.Images}})
		if err != nil {
			return nil, err
		}
		lg := outs[0].Logits()
		T, V := lg.Shape[1], lg.Shape[2]
		if T != len(enc.IDs) {
			return nil, fmt.Errorf("fill-mask: logits for %d tokens, text has %d", T, len(enc.IDs))
		}
		// Text positions without [CLS] and [SEP].
		best, bestPos, bestID := -1.0, -1, 0
		k := 0
		maskOrd := map[int]int{}
		for pos := 1; pos < T-1; pos++ {
			if enc.IDs[pos] != int64(maskID) {
				continue
			}
			maskOrd[pos] = k
			k++
			p, id := softmaxMax(lg.Data[pos*V : (pos+1)*V])
			if p > best {
				best, bestPos, bestID = p, pos, id
			}
		}
		if bestPos < 0 {
			break // the masks were truncated away
		}
		if k != len(origin) { // re-reading the text changed the masks (truncation, a [MASK] prediction)
			origin = origin[:0]
			for i := 0; i < k; i++ {
				origin = append(origin, i)
			}
		}
		probs := softmax(lg.Data[bestPos*V : (bestPos+1)*V])
		ids := make([]int64, 0, T-2)
		ids = append(ids, enc.IDs[1:T-1]...)
		st := FillStep{Mask: origin[maskOrd[bestPos]], Position: bestPos, Token: int64(bestID), Score: best,
			TokenStr: tok.Decode([]int64{int64(bestID)}, false), input: enc}
		for _, c := range topIndices(probs, topK) {
			ids[bestPos-1] = int64(c)
			st.Candidates = append(st.Candidates, Candidate{Score: probs[c], Token: int64(c),
				TokenStr: tok.Decode([]int64{int64(c)}, false), Sequence: tok.Decode(ids, false)})
		}
		ids[bestPos-1] = int64(bestID)
		res.Sequence = tok.Decode(ids, false)
		origin = append(origin[:maskOrd[bestPos]:maskOrd[bestPos]], origin[maskOrd[bestPos]+1:]...)
		res.Steps = append(res.Steps, st)
	}
	return res, nil
}

func softmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	out := make([]float64, len(x))
	s := 0.0
	for i, v := range x {
		out[i] = math.Exp(float64(v) - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// softmaxMax is max(softmax(x)) and its (first) index, as torch's max.
func softmaxMax(x []float32) (float64, int) {
	p := softmax(x)
	bi := 0
	for i, v := range p {
		if v > p[bi] {
			bi = i
		}
	}
	return p[bi], bi
}

// topIndices returns the indices of the k largest values, largest first (stable).
func topIndices(v []float64, k int) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	return idx[:min(k, len(idx))]
}

// NLVR2Result is the NLVR2 decision: the argmax label and the softmax score of each label.
type NLVR2Result struct {
	Label  string             `json:"label"`
	Scores map[string]float64 `json:"scores"`
	Logits []float32          `json:"logits"`
	// Explanations are where the pooled token looked in the left and right image (set by
	// the caller from Tasks.Explain).
	Explanations []*PatchMap `json:"explanations,omitempty"`
}

// NLVR2 runs ViltForImagesAndTextClassification on (left, right, text).
func (t *Tasks) NLVR2(ctx context.Context, left, right *processor.RGBImage, text string) (*NLVR2Result, error) {
	if err := t.P.NeedHead("nlvr2", weights.HeadNLVR2); err != nil {
		return nil, err
	}
	ex, err := t.example(text, left, right)
	if err != nil {
		return nil, err
	}
	outs, err := t.run(ctx, []Example{ex})
	if err != nil {
		return nil, err
	}
	lg := outs[0].Logits().Data
	probs := softmax(lg)
	res := &NLVR2Result{Scores: map[string]float64{}, Logits: lg}
	best := 0
	for i, p := range probs {
		res.Scores[t.P.label(i)] = p
		if p > probs[best] {
			best = i
		}
	}
	res.Label = t.P.label(best)
	return res, nil
}

func (p *Pipeline) label(i int) string {
	if s, ok := p.Model.Config.ID2Label[i]; ok {
		return s
	}
	return fmt.Sprintf("LABEL_%d", i)
}

// Ranked is one entry of a ranking: the index of the other side and the pair's score.
type Ranked struct {
	Index int     `json:"index"`
	Label string  `json:"label"` // the text, or the image name when known
	Score float64 `json:"score"`
}

// RankResult holds the retrieval logits of every (image, text) pair and both rankings.
type RankResult struct {
	// Scores[i][j] is the rank_output logit of image i with text j (raw, as the model
	// cards use it).
	Scores [][]float64 `json:"scores"`
	// ImageToTexts[i] ranks the texts for image i, best first (top-k); TextToImages[j]
	// ranks the images for text j.
	ImageToTexts [][]Ranked `json:"image_to_texts"`
	TextToImages [][]Ranked `json:"text_to_images"`
	// Explanations[i][j] is where the pooled token of image i with text j looked (set by the
	// caller from Tasks.Explain).
	Explanations [][]*PatchMap `json:"explanations,omitempty"`
}

// Rank: see Pipeline.Rank. Pairs run image-major in batches (t.BatchSize) with progress.
func (t *Tasks) Rank(ctx context.Context, images []*processor.RGBImage, texts []string, topK int) (*RankResult, error) {
	if err := t.P.NeedHead("rank", weights.HeadRetrieval); err != nil {
		return nil, err
	}
	if len(images) == 0 || len(texts) == 0 {
		return nil, badInput("rank needs at least one image and one text")
	}
	ex, err := t.crossExamples(images, texts, "text")
	if err != nil {
		return nil, err
	}
	outs, err := t.run(ctx, ex)
	if err != nil {
		return nil, err
	}
	N, M := len(images), len(texts)
	res := &RankResult{Scores: make([][]float64, N)}
	for i := 0; i < N; i++ {
		res.Scores[i] = make([]float64, M)
		for j := 0; j < M; j++ {
			res.Scores[i][j] = float64(outs[i*M+j].Logits().Data[0])
		}
	}
	if topK <= 0 {
		topK = max(N, M)
	}
	for i := 0; i < N; i++ {
		res.ImageToTexts = append(res.ImageToTexts, rankBy(M, topK, func(j int) float64 { return res.Scores[i][j] }, func(j int) string { return texts[j] }))
	}
	for j := 0; j < M; j++ {
		res.TextToImages = append(res.TextToImages, rankBy(N, topK, func(i int) float64 { return res.Scores[i][j] }, func(i int) string { return fmt.Sprintf("image %d", i) }))
	}
	return res, nil
}

func rankBy(n, k int, score func(int) float64, label func(int) string) []Ranked {
	r := make([]Ranked, n)
	for i := range r {
		r[i] = Ranked{Index: i, Label: label(i), Score: score(i)}
	}
	sort.SliceStable(r, func(a, b int) bool { return r[a].Score > r[b].Score })
	return r[:min(k, n)]
}

// Embedding is the backbone's output for one image-text pair: pooler_output [1, H] and
// last_hidden_state [1, S, H] (S = text tokens + image CLS + image tokens), with the
// tokens and the image-token mask.
type Embedding struct {
	PoolerOutput    *Tensor
	LastHiddenState *Tensor
	Tokens          []string
	// ImageTokenMask is [1+L]: 1 for the image CLS and valid patches, 0 for fillers.
	ImageTokenMask []int64
}

// Embed runs one pair alone (no batch padding).
func (t *Tasks) Embed(ctx context.Context, image *processor.RGBImage, text string) (*Embedding, error) {
	if t.P.Model.Head == weights.HeadNLVR2 {
		return nil, fmt.Errorf("%w: embed takes one image per text; use a ViltModel, MLM, VQA or retrieval model", ErrWrongHead)
	}
	ex, err := t.example(text, image)
	if err != nil {
		return nil, err
	}
	ex.Outputs = []string{"pooler_output", "last_hidden_state"}
	outs, err := t.run(ctx, []Example{ex})
	if err != nil {
		return nil, err
	}
	o := outs[0]
	e := &Embedding{PoolerOutput: o.Tensors["pooler_output"], LastHiddenState: o.Tensors["last_hidden_state"], Tokens: ex.Encoding.Tokens}
	if len(o.ImageTokenMask) > 0 {
		e.ImageTokenMask = o.ImageTokenMask[0]
	}
	if e.LastHiddenState == nil {
		return nil, fmt.Errorf("embed: the model gave no last_hidden_state (outputs %s)", strings.Join(o.Names(), ", "))
	}
	return e, nil
}

// NameImages labels the image side of the rankings with names (file names) instead of
// "image i".
func (r *RankResult) NameImages(names []string) {
	for j := range r.TextToImages {
		for k := range r.TextToImages[j] {
			if i := r.TextToImages[j][k].Index; i < len(names) {
				r.TextToImages[j][k].Label = names[i]
			}
		}
	}
}
