package weights

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Head is a ViLT model class, named as in config.json's architectures.
type Head string

// The ViLT classes of transformers.
const (
	HeadNone                Head = "ViltModel"
	HeadMLM                 Head = "ViltForMaskedLM"
	HeadVQA                 Head = "ViltForQuestionAnswering"
	HeadNLVR2               Head = "ViltForImagesAndTextClassification"
	HeadRetrieval           Head = "ViltForImageAndTextRetrieval"
	HeadTokenClassification Head = "ViltForTokenClassification"
)

// Spec is what the state-dict layout depends on; vilt.Config.Spec builds it.
type Spec struct {
	Head                  Head
	VocabSize             int
	TypeVocabSize         int
	ModalityTypeVocabSize int
	MaxPositionEmbeddings int
	HiddenSize            int
	NumHiddenLayers       int
	IntermediateSize      int
	ImageSize             int
	PatchSize             int
	NumChannels           int
	QKVBias               bool
	NumLabels             int // classifier outputs (VQA, NLVR2, token classification)
	NumImages             int // NLVR2 images per example
}

// KeyShape is one expected state-dict entry.
type KeyShape struct {
	Name  string
	Shape []int
}

// HasPooler reports whether the backbone has pooler weights (all but token classification).
func (s Spec) HasPooler() bool { return s.Head != HeadTokenClassification }

// Prefix is the backbone's key prefix in a state dict: "" for ViltModel, "vilt." in heads.
func (s Spec) Prefix() string {
	if s.Head == HeadNone || s.Head == "" {
		return ""
	}
	return "vilt."
}

// StateDict lists the keys and shapes transformers' state_dict() has for this spec, in
// module order, with the prefix (golden README §2). The MLM bias is listed once, as
// mlm_score.bias.
func (s Spec) StateDict() []KeyShape {
	H, I, p := s.HiddenSize, s.IntermediateSize, s.Prefix()
	grid := 0
	if s.PatchSize > 0 {
		grid = s.ImageSize / s.PatchSize
	}
	var out []KeyShape
	add := func(name string, shape ...int) { out = append(out, KeyShape{name, shape}) }
	add(p+"embeddings.cls_token", 1, 1, H)
	add(p+"embeddings.position_embeddings", 1, 1+grid*grid, H)
	add(p+"embeddings.text_embeddings.word_embeddings.weight", s.VocabSize, H)
	add(p+"embeddings.text_embeddings.position_embeddings.weight", s.MaxPositionEmbeddings, H)
	add(p+"embeddings.text_embeddings.token_type_embeddings.weight", s.TypeVocabSize, H)
	add(p+"embeddings.text_embeddings.LayerNorm.weight", H)
	add(p+"embeddings.text_embeddings.LayerNorm.bias", H)
	add(p+"embeddings.patch_embeddings.projection.weight", H, s.NumChannels, s.PatchSize, s.PatchSize)
	add(p+"embeddings.patch_embeddings.projection.bias", H)
	add(p+"embeddings.token_type_embeddings.weight", s.ModalityTypeVocabSize, H)
	for i := range s.NumHiddenLayers {
		l := p + "encoder.layer." + strconv.Itoa(i) + "."
		add(l+"layernorm_before.weight", H)
		add(l+"layernorm_before.bias", H)
		for _, q := range []string{"query", "key", "value"} {
			add(l+"attention.attention."+q+".weight", H, H)
			if s.QKVBias {
				add(l+"attention.attention."+q+".bias", H)
			}
		}
		add(l+"attention.output.dense.weight", H, H)
		add(l+"attention.output.dense.bias", H)
		add(l+"layernorm_after.weight", H)
		add(l+"layernorm_after.bias", H)
		add(l+"intermediate.dense.weight", I, H)
		add(l+"intermediate.dense.bias", I)
		add(l+"output.dense.weight", H, I)
		add(l+"output.dense.bias", H)
	}
	add(p+"layernorm.weight", H)
	add(p+"layernorm.bias", H)
	if s.HasPooler() {
		add(p+"pooler.dense.weight", H, H)
		add(p+"pooler.dense.bias", H)
	}
	switch s.Head {
	case HeadMLM:
		add("mlm_score.bias", s.VocabSize)
		add("mlm_score.transform.dense.weight", H, H)
		add("mlm_score.transform.dense.bias", H)
		add("mlm_score.transform.LayerNorm.weight", H)
		add("mlm_score.transform.LayerNorm.bias", H)
		add("mlm_score.decoder.weight", s.VocabSize, H)
	case HeadVQA, HeadNLVR2:
		w, in := classifierWidth(s), H
		if s.Head == HeadNLVR2 {
			in = w
		}
		add("classifier.0.weight", w, in)
		add("classifier.0.bias", classifierWidth(s))
		add("classifier.1.weight", classifierWidth(s))
		add("classifier.1.bias", classifierWidth(s))
		add("classifier.3.weight", s.NumLabels, classifierWidth(s))
		add("classifier.3.bias", s.NumLabels)
	case HeadRetrieval:
		add("rank_output.weight", 1, H)
		add("rank_output.bias", 1)
	case HeadTokenClassification:
		add("classifier.weight", s.NumLabels, H)
		add("classifier.bias", s.NumLabels)
	}
	return out
}

// classifierWidth is the hidden width of the VQA (2H) or NLVR2 (n·H) classifier.
func classifierWidth(s Spec) int {
	if s.Head == HeadNLVR2 {
		return max(s.NumImages, 1) * s.HiddenSize
	}
	return 2 * s.HiddenSize
}

// NumParams is the parameter count of the spec's model (the MLM bias counted once).
func (s Spec) NumParams() int64 {
	var n int64
	for _, ks := range s.StateDict() {
		e, _ := numElements(ks.Shape)
		n += int64(e)
	}
	return n
}

// DetectHead guesses the model class from state-dict keys (for `vilt inspect` on a
// checkpoint without config.json).
func DetectHead(names []string) Head {
	has := func(p string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, p) })
	}
	switch {
	case has("mlm_score."):
		return HeadMLM
	case has("rank_output."):
		return HeadRetrieval
	case has("classifier.0."):
		// VQA: classifier.0 is [2H, H]; NLVR2: [nH, nH]. Names alone cannot tell; VQA
		// is the common case. Callers with shapes use DetectHeadShapes.
		return HeadVQA
	case has("classifier."):
		return HeadTokenClassification
	}
	return HeadNone
}

// isIgnoredKey reports non-persistent buffers that old checkpoints still carry.
func isIgnoredKey(name string) bool {
	n := strings.TrimPrefix(name, "vilt.")
	return n == "embeddings.text_embeddings.position_ids" || n == "embeddings.text_embeddings.token_type_ids"
}

// MapError lists every difference between a checkpoint and a spec.
type MapError struct {
	Head       Head
	Missing    []string // expected canonical keys the checkpoint lacks
	Unexpected []string // checkpoint keys the model has no place for
	Mismatched []string // "key: checkpoint [a b] vs config [c d]" (or a bad dtype)
}

func (e *MapError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoint does not match the %s config:", e.Head)
	list := func(what string, items []string) {
		if len(items) > 0 {
			fmt.Fprintf(&b, "\n  %d %s: %s", len(items), what, strings.Join(items, ", "))
		}
	}
	list("missing", e.Missing)
	list("unexpected", e.Unexpected)
	list("mismatched", e.Mismatched)
	return b.String()
}

// Model is a checkpoint checked against a spec, under canonical names: backbone keys
// without the "vilt." prefix ("encoder.layer.0.output.dense.weight") and head keys as
// transformers names them ("classifier.3.bias", "mlm_score.bias").
type Model struct {
	Spec    Spec
	src     Checkpoint
	byName  map[string]string // canonical → checkpoint name
	names   []string          // canonical, in StateDict order
	shapeOf map[string][]int
}

// CanonicalName strips the head's "vilt." prefix from a state-dict key.
func CanonicalName(key string) string { return strings.TrimPrefix(key, "vilt.") }

// MapViLT checks c against s and maps its keys to canonical names. It is strict: any
// missing key, unexpected key, shape mismatch or non-float dtype fails, and the error
// (a *MapError) lists every one. It accepts the MLM bias as mlm_score.bias or
// mlm_score.decoder.bias (or both) and ignores position_ids buffers. Closing the Model
// closes c.
func MapViLT(c Checkpoint, s Spec) (*Model, error) {
	want := s.StateDict()
	m := &Model{Spec: s, src: c, byName: map[string]string{}, shapeOf: map[string][]int{}}
	e := &MapError{Head: s.Head}
	expected := map[string][]int{}
	for _, ks := range want {
		expected[CanonicalName(ks.Name)] = ks.Shape
	}
	present := map[string]bool{}
	for _, n := range c.Names() {
		present[n] = true
	}
	for _, name := range c.Names() {
		if isIgnoredKey(name) {
			continue
		}
		canon := CanonicalName(name)
		// A head checkpoint read as ViltModel maps its backbone (its head keys are then
		// unexpected), as from_pretrained does; a head model needs the prefix.
		if s.Prefix() != "" && canon == name && !isHeadKey(name) {
			e.Unexpected = append(e.Unexpected, name+" (backbone key without the vilt. prefix)")
			continue
		}
		if name == "mlm_score.decoder.bias" {
			if present["mlm_score.bias"] {
				continue // the tied alias of mlm_score.bias
			}
			canon = "mlm_score.bias"
		}
		shape, ok := expected[canon]
		if !ok {
			e.Unexpected = append(e.Unexpected, name)
			continue
		}
		if _, dup := m.byName[canon]; dup {
			e.Unexpected = append(e.Unexpected, name+" (duplicate of "+m.byName[canon]+")")
			continue
		}
		t, err := c.Tensor(name)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(t.Shape, shape) {
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("%s: checkpoint %v vs config %v", name, t.Shape, shape))
		} else if !t.DType.IsFloat() {
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("%s: dtype %v is not a float type", name, t.DType))
		}
		m.byName[canon] = name
		m.shapeOf[canon] = shape
	}
	for _, ks := range want {
		canon := CanonicalName(ks.Name)
		if _, ok := m.byName[canon]; !ok {
			e.Missing = append(e.Missing, ks.Name)
		} else {
			m.names = append(m.names, canon)
		}
	}
	if len(e.Missing)+len(e.Unexpected)+len(e.Mismatched) > 0 {
		return nil, e
	}
	return m, nil
}

func isHeadKey(name string) bool {
	for _, p := range []string{"mlm_score.", "classifier.", "rank_output."} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Names lists the canonical names in module order.
func (m *Model) Names() []string { return m.names }

// Tensor returns the tensor under its canonical name.
func (m *Model) Tensor(name string) (*Tensor, error) {
	src, ok := m.byName[name]
	if !ok {
		return nil, fmt.Errorf("tensor %q: %w", name, ErrNotFound)
	}
	t, err := m.src.Tensor(src)
	if err != nil {
		return nil, err
	}
	if t.Name != name {
		c := *t
		c.Name = name
		t = &c
	}
	return t, nil
}

// Close closes the underlying checkpoint.
func (m *Model) Close() error { return m.src.Close() }

// DetectHeadFrom is DetectHead refined by shapes: a square classifier.0 of width n·H
// with n ≥ 2 is the NLVR2 head.
func DetectHeadFrom(c Checkpoint) Head {
	h := DetectHead(c.Names())
	if h != HeadVQA {
		return h
	}
	t, err := c.Tensor("classifier.0.weight")
	if err != nil || len(t.Shape) != 2 {
		return h
	}
	if t.Shape[0] == t.Shape[1] {
		return HeadNLVR2
	}
	return h
}
