package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
)

var tinySpec = Spec{
	VocabSize: 50, TypeVocabSize: 2, ModalityTypeVocabSize: 2, MaxPositionEmbeddings: 8,
	HiddenSize: 8, NumHiddenLayers: 2, IntermediateSize: 12, ImageSize: 8, PatchSize: 4,
	NumChannels: 3, QKVBias: true, NumLabels: 3, NumImages: -1,
}

// memCheckpoint serialises tensors to safetensors and reads them back.
func memCheckpoint(t *testing.T, ts []*Tensor) Checkpoint {
	t.Helper()
	var b bytes.Buffer
	if err := WriteSafetensors(&b, ts, nil); err != nil {
		t.Fatal(err)
	}
	s, err := ParseSafetensors(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// synthTensors returns the spec's synthetic tensors, edited by edit (rename: return a
// new name; drop: return "").
func synthTensors(t *testing.T, s Spec, edit func(name string) string) []*Tensor {
	sy := NewSynthetic(s)
	var out []*Tensor
	for _, n := range sy.Names() {
		tt, _ := sy.Tensor(n)
		c := *tt
		c.Name = edit(n)
		if c.Name != "" {
			out = append(out, &c)
		}
	}
	return out
}

func same(n string) string { return n }

func TestMapViLTVariants(t *testing.T) {
	mlm := tinySpec
	mlm.Head = HeadMLM
	f16 := func(tt *Tensor) *Tensor { // an F16 tensor of the same shape (all ones)
		f, _ := tt.Float32s()
		raw := make([]byte, 2*len(f))
		for i := range f {
			binary.LittleEndian.PutUint16(raw[2*i:], 0x3c00) // 1.0
		}
		h, _ := NewTensor(tt.Name, F16, tt.Shape, raw)
		return h
	}
	i64 := func(tt *Tensor) *Tensor {
		h, _ := NewTensor(tt.Name, I64, tt.Shape, make([]byte, 8*tt.NumElements()))
		return h
	}
	cases := []struct {
		name    string
		spec    Spec
		edit    func(string) string
		extra   func(ts []*Tensor) []*Tensor
		missing []string
		unexp   []string
		mism    int
	}{
		{name: "mlm as saved by save_pretrained", spec: mlm, edit: same},
		{name: "mlm transformers v5 (decoder.bias only)", spec: mlm, edit: func(n string) string {
			if n == "mlm_score.bias" {
				return "mlm_score.decoder.bias"
			}
			return n
		}},
		{name: "mlm both names + old position_ids", spec: mlm, edit: same, extra: func(ts []*Tensor) []*Tensor {
			for _, tt := range ts {
				if tt.Name == "mlm_score.bias" {
					c := *tt
					c.Name = "mlm_score.decoder.bias"
					ts = append(ts, &c)
				}
			}
			pos, _ := NewTensor("vilt.embeddings.text_embeddings.position_ids", I64, []int{1, 8}, make([]byte, 64))
			return append(ts, pos)
		}},
		{name: "F16 weights", spec: mlm, edit: same, extra: func(ts []*Tensor) []*Tensor {
			for i := range ts {
				ts[i] = f16(ts[i])
			}
			return ts
		}},
		{name: "integer weight", spec: mlm, edit: same, extra: func(ts []*Tensor) []*Tensor {
			ts[0] = i64(ts[0])
			return ts
		}, mism: 1},
		{name: "backbone without prefix in a head", spec: mlm, edit: func(n string) string { return strings.TrimPrefix(n, "vilt.") },
			missing: []string{"vilt.layernorm.weight"}, unexp: []string{"layernorm.weight (backbone key without the vilt. prefix)"}},
		{name: "missing and unexpected", spec: mlm, edit: func(n string) string {
			if n == "vilt.pooler.dense.bias" {
				return ""
			}
			if n == "mlm_score.transform.dense.bias" {
				return "mlm_score.transform.dense.bias2"
			}
			return n
		}, missing: []string{"vilt.pooler.dense.bias", "mlm_score.transform.dense.bias"}, unexp: []string{"mlm_score.transform.dense.bias2"}},
	}
	for _, c := range cases {
		ts := synthTensors(t, c.spec, c.edit)
		if c.extra != nil {
			ts = c.extra(ts)
		}
		ck := memCheckpoint(t, ts)
		m, err := MapViLT(ck, c.spec)
		wantErr := len(c.missing)+len(c.unexp)+c.mism > 0
		if !wantErr {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if len(m.Names()) != len(c.spec.StateDict()) || !slices.Contains(m.Names(), "mlm_score.bias") || slices.ContainsFunc(m.Names(), func(n string) bool { return strings.HasPrefix(n, "vilt.") }) {
				t.Errorf("%s: names %v", c.name, m.Names())
			}
			b, err := m.Tensor("mlm_score.bias")
			if err != nil || b.Name != "mlm_score.bias" {
				t.Errorf("%s: %v %v", c.name, b, err)
			}
			continue
		}
		var me *MapError
		if !errors.As(err, &me) {
			t.Errorf("%s: want a MapError, got %v", c.name, err)
			continue
		}
		for _, n := range c.missing {
			if !slices.Contains(me.Missing, n) {
				t.Errorf("%s: missing lacks %s: %v", c.name, n, me.Missing)
			}
		}
		for _, n := range c.unexp {
			if !slices.Contains(me.Unexpected, n) {
				t.Errorf("%s: unexpected lacks %s: %v", c.name, n, me.Unexpected)
			}
		}
		if len(me.Mismatched) != c.mism {
			t.Errorf("%s: mismatched %v", c.name, me.Mismatched)
		}
	}
}

func TestSpecStateDict(t *testing.T) {
	for _, c := range []struct {
		head   Head
		n      int
		hasKey string
	}{
		{HeadNone, 10 + 2*16 + 4, "pooler.dense.weight"},
		{HeadTokenClassification, 10 + 2*16 + 2 + 2, "classifier.weight"},
		{HeadRetrieval, 10 + 2*16 + 4 + 2, "rank_output.bias"},
		{HeadNLVR2, 10 + 2*16 + 4 + 6, "classifier.1.weight"},
	} {
		s := tinySpec
		s.Head = c.head
		if c.head == HeadNLVR2 {
			s.NumImages, s.ModalityTypeVocabSize = 2, 3
		}
		sd := s.StateDict()
		names := make([]string, len(sd))
		for i, ks := range sd {
			names[i] = ks.Name
		}
		if len(sd) != c.n || !slices.Contains(names, c.hasKey) {
			t.Errorf("%s: %d keys %v", c.head, len(sd), names)
		}
		if got := DetectHeadFrom(NewSynthetic(s)); got != c.head {
			t.Errorf("DetectHeadFrom(%s) = %s", c.head, got)
		}
	}
	s := tinySpec
	s.QKVBias = false
	if n := len(s.StateDict()); n != 10+2*13+4 {
		t.Errorf("qkv_bias false: %d keys", n)
	}
}
