package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/vilt-vk/vilt-vk/processor"
	"github.com/vilt-vk/vilt-vk/vilt"
	"github.com/vilt-vk/vilt-vk/weights"
)

// pairRunner runs the (image, text) pairs of a manifest: entry by entry, each image with
// each of its texts. Forwards hold `batch` pairs and their boundaries are fixed in the
// pair sequence of the whole manifest (multiples of batch from its first pair), whichever
// part of it one run does. So every pair goes through the same forward, with the same
// padding, in a sharded and an unsharded run, and the shard outputs join into the
// unsharded output byte for byte (a shard also runs the few pairs of its neighbours that
// share its first and last forward, and drops their results).
type pairRunner struct {
	p         *vilt.Pipeline
	tasks     *vilt.Tasks
	m         []manifestEntry
	cum       []int64 // cum[l]: pairs before entry l; cum[len(m)]: all pairs
	batch     int
	maxPixels int64
	outputs   []string // output tensors per pair
	progress  func(done, total int)

	sharedEncs []processor.Encoding // encodings of the shared text list, once
	cache      map[int]*loadedEntry
}

// loadedEntry is a manifest entry ready to run.
type loadedEntry struct {
	pix  *processor.PixelImage
	encs []processor.Encoding
}

func newPairRunner(p *vilt.Pipeline, m []manifestEntry, batch int, maxPixels int64, outputs []string) *pairRunner {
	r := &pairRunner{p: p, tasks: p.Tasks(), m: m, batch: max(batch, 1), maxPixels: maxPixels, outputs: outputs,
		cum: make([]int64, len(m)+1), cache: map[int]*loadedEntry{}}
	for l, e := range m {
		r.cum[l+1] = r.cum[l] + int64(len(e.Texts))
	}
	return r
}

// pairs is the number of pairs of entries [lo, hi).
func (r *pairRunner) pairs(lo, hi int) int64 { return r.cum[hi] - r.cum[lo] }

func (r *pairRunner) encode(texts []string) ([]processor.Encoding, error) {
	encs := make([]processor.Encoding, len(texts))
	for j, s := range texts {
		var err error
		if encs[j], err = r.tasks.Encode(s, ""); err != nil {
			return nil, fmt.Errorf("text %d: %w", j, err)
		}
	}
	return encs, nil
}

func (r *pairRunner) entry(l int) (*loadedEntry, error) {
	if e, ok := r.cache[l]; ok {
		return e, nil
	}
	me := &r.m[l]
	img, err := readImage(me.path, r.maxPixels)
	if err != nil {
		return nil, fmt.Errorf("manifest entry %d: %w", l, err)
	}
	pix, err := r.p.PrepareImage(img)
	if err != nil {
		return nil, fmt.Errorf("manifest entry %d (%s): %w", l, me.Image, err)
	}
	e := &loadedEntry{pix: pix}
	switch {
	case me.shared && r.sharedEncs != nil:
		e.encs = r.sharedEncs
	default:
		if e.encs, err = r.encode(me.Texts); err != nil {
			return nil, fmt.Errorf("manifest entry %d: %w", l, err)
		}
		if me.shared {
			r.sharedEncs = e.encs
		}
	}
	r.cache[l] = e
	return e, nil
}

// run runs the pairs of entries [lo, hi) and hands each pair's outputs to emit in order
// (entry l, text j).
func (r *pairRunner) run(ctx context.Context, lo, hi int, emit func(l, j int, o *vilt.Outputs) error) error {
	start, end := r.cum[lo], r.cum[hi]
	B := int64(r.batch)
	total := r.cum[len(r.m)]
	type ref struct{ l, j int }
	for c := start / B * B; c < end; c += B {
		if err := ctx.Err(); err != nil {
			return err
		}
		ce := min(c+B, total)
		l := sort.Search(len(r.m), func(i int) bool { return r.cum[i+1] > c })
		ex := make([]vilt.Example, 0, ce-c)
		refs := make([]ref, 0, ce-c)
		for p := c; p < ce; p++ {
			for p >= r.cum[l+1] {
				l++
			}
			e, err := r.entry(l)
			if err != nil {
				return err
			}
			j := int(p - r.cum[l])
			ex = append(ex, vilt.Example{Encoding: e.encs[j], Images: []*processor.PixelImage{e.pix}, Outputs: r.outputs})
			refs = append(refs, ref{l, j})
		}
		outs, err := r.p.RunExamples(ctx, ex)
		if err != nil {
			return err
		}
		for k, o := range outs {
			if p := c + int64(k); p >= start && p < end {
				if err := emit(refs[k].l, refs[k].j, o); err != nil {
					return err
				}
			}
		}
		for k := range r.cache {
			if k < l {
				delete(r.cache, k) // the next forward starts at entry l or later
			}
		}
		if r.progress != nil {
			r.progress(int(min(ce, end)-start), int(end-start))
		}
	}
	return nil
}

// batchRun is one rank/embed run over a manifest.
type batchRun struct {
	mf     *modelFlags
	m      []manifestEntry
	inputs string // hex sha256 of the manifest and the shared texts
	sh     shard
	output string // the shard's file
	lo, hi int    // its entries
}

func newBatchRun(mf *modelFlags, sf *shardFlags, shared []string, output string) (*batchRun, error) {
	if output == "" {
		return nil, usageErrorf("--manifest needs --output")
	}
	sh, err := sf.resolve()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(sf.manifest)
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(bytes.NewReader(raw), sf.manifest, shared)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(raw)
	for _, s := range shared {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	b := &batchRun{mf: mf, m: m, sh: sh, output: shardPath(output, sh), inputs: hex.EncodeToString(h.Sum(nil))}
	b.lo, b.hi = sh.lines(len(m))
	return b, nil
}

// report prints what a run wrote (or found done).
func (b *batchRun) report(stdout io.Writer, pairs int64, skipped bool) error {
	if b.mf.asJSON {
		rep := map[string]any{"output": b.output, "entries": []int{b.lo, b.hi}, "pairs": pairs, "skipped": skipped}
		if b.sh.sharded() {
			rep["shard"] = b.sh.String()
		}
		return writeJSON(stdout, rep)
	}
	verb := "wrote"
	if skipped {
		verb = "already done:"
	}
	fmt.Fprintf(stdout, "%s %s: manifest entries [%d, %d), %d pairs\n", verb, b.output, b.lo, b.hi, pairs)
	return nil
}

// done reports whether the output exists; check verifies that it is this run's.
// start loads the model for this shard, or returns a nil run (after reporting the shard as
// skipped) when its output already exists and matches this run.
func (b *batchRun) start(stdout io.Writer, check func() error) (*taskRun, error) {
	skip, err := b.done(check)
	if err != nil {
		return nil, err
	}
	if skip {
		return nil, b.report(stdout, b.pairCount(), true)
	}
	return b.mf.start(stdout, nil)
}

func (b *batchRun) done(check func() error) (bool, error) {
	if _, err := os.Stat(b.output); errors.Is(err, os.ErrNotExist) {
		removeStaleTemps(b.output)
		return false, os.MkdirAll(filepath.Dir(b.output), 0o755)
	} else if err != nil {
		return false, err
	}
	if err := check(); err != nil {
		return false, fmt.Errorf("%s exists but is not the output of this run (%v): remove it to recompute", b.output, err)
	}
	slog.Info("output already complete; nothing to do", "output", b.output, "shard", b.sh.String())
	return true, nil
}

// rankLine is one line of `vilt rank --manifest`'s JSONL output: the retrieval logit of the
// entry's image with each of its texts, in the manifest's order.
type rankLine struct {
	Index  int       `json:"index"`
	Image  string    `json:"image"`
	ID     string    `json:"id,omitempty"`
	Scores []float32 `json:"scores"`
}

func runRankManifest(mf *modelFlags, sf *shardFlags, shared []string, output string, stdout io.Writer) error {
	b, err := newBatchRun(mf, sf, shared, output)
	if err != nil {
		return err
	}
	run, err := b.start(stdout, b.checkRankOutput)
	if err != nil || run == nil {
		return err
	}
	defer run.close()
	ctx, p := run.ctx, run.p
	if err := p.NeedHead("rank", weights.HeadRetrieval); err != nil {
		return err
	}
	r := newPairRunner(p, b.m, mf.batch, mf.maxPixels, []string{"logits"})
	r.progress = progressBar("rank", mf.quiet)
	err = writeFileAtomic(b.output, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		var cur *rankLine
		return r.run(ctx, b.lo, b.hi, func(l, j int, o *vilt.Outputs) error {
			if j == 0 {
				e := b.m[l]
				cur = &rankLine{Index: l, Image: e.Image, ID: e.ID, Scores: make([]float32, len(e.Texts))}
			}
			lg := o.Logits()
			if lg == nil || len(lg.Data) == 0 {
				return errors.New("rank: the model gave no logits")
			}
			cur.Scores[j] = lg.Data[0]
			if j == len(cur.Scores)-1 {
				return enc.Encode(cur)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	return b.report(stdout, r.pairs(b.lo, b.hi), false)
}

func (b *batchRun) pairCount() int64 {
	var n int64
	for _, e := range b.m[b.lo:b.hi] {
		n += int64(len(e.Texts))
	}
	return n
}

// checkRankOutput verifies that the existing output holds exactly this run's entries.
func (b *batchRun) checkRankOutput() error {
	f, err := os.Open(b.output)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	l := b.lo
	for ; sc.Scan(); l++ {
		var rl rankLine
		if err := json.Unmarshal(sc.Bytes(), &rl); err != nil {
			return fmt.Errorf("line %d: %v", l-b.lo+1, err)
		}
		if l >= b.hi || rl.Index != l || rl.Image != b.m[l].Image || len(rl.Scores) != len(b.m[l].Texts) {
			return fmt.Errorf("line %d is entry %d (%s, %d scores)", l-b.lo+1, rl.Index, rl.Image, len(rl.Scores))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if l != b.hi {
		return fmt.Errorf("it ends at entry %d, want %d", l, b.hi)
	}
	return nil
}

// Embeddings of a manifest: pooler_output [P, H] of every pair, with the manifest entry
// ("index") and the text ("text_index") of each row, and these metadata.
const (
	metaEntries      = "entries"          // "lo-hi" of a shard
	metaShard        = "shard"            // "I/N" of a shard
	metaManifestSize = "manifest_entries" // entries of the whole manifest
	metaInputs       = "inputs_sha256"    // of the manifest and the shared texts
	metaBatch        = "batch"            // pairs per forward (results depend on it by float rounding)
)

func (b *batchRun) embedMeta() map[string]string {
	meta := map[string]string{"producer": "vilt-vk", "task": "embed", "model": b.mf.model, metaManifestSize: strconv.Itoa(len(b.m)),
		metaInputs: b.inputs, metaBatch: strconv.Itoa(b.mf.batch)}
	if b.sh.sharded() {
		meta[metaShard] = b.sh.String()
		meta[metaEntries] = fmt.Sprintf("%d-%d", b.lo, b.hi)
	}
	return meta
}

func runEmbedManifest(mf *modelFlags, sf *shardFlags, shared []string, output string, stdout io.Writer) error {
	b, err := newBatchRun(mf, sf, shared, output)
	if err != nil {
		return err
	}
	run, err := b.start(stdout, b.checkEmbedOutput)
	if err != nil || run == nil {
		return err
	}
	defer run.close()
	ctx, p := run.ctx, run.p
	if p.Model.Head == weights.HeadNLVR2 {
		return fmt.Errorf("%w: embed takes one image per text; use a ViltModel, MLM, VQA or retrieval model", vilt.ErrWrongHead)
	}
	r := newPairRunner(p, b.m, mf.batch, mf.maxPixels, []string{"pooler_output"})
	r.progress = progressBar("embed", mf.quiet)
	P := r.pairs(b.lo, b.hi)
	var pooled []float32
	index, textIndex := make([]int64, 0, P), make([]int64, 0, P)
	H := 0
	err = r.run(ctx, b.lo, b.hi, func(l, j int, o *vilt.Outputs) error {
		po := o.Tensors["pooler_output"]
		if po == nil {
			return fmt.Errorf("embed: the model gives no pooler_output (outputs %v)", o.Names())
		}
		if H == 0 {
			H = len(po.Data)
			pooled = make([]float32, 0, P*int64(H))
		}
		pooled = append(pooled, po.Data...)
		index, textIndex = append(index, int64(l)), append(textIndex, int64(j))
		return nil
	})
	if err != nil {
		return err
	}
	if H == 0 {
		H = p.Model.Config.HiddenSize
	}
	ts := []processor.Tensor{
		{Name: "pooler_output", Shape: []int{int(P), H}, F32: nonNil(pooled)},
		{Name: "index", Shape: []int{int(P)}, I64: nonNil(index)},
		{Name: "text_index", Shape: []int{int(P)}, I64: nonNil(textIndex)},
	}
	if err := writeFileAtomic(b.output, func(w io.Writer) error { return processor.WriteSafetensors(w, ts, b.embedMeta()) }); err != nil {
		return err
	}
	return b.report(stdout, P, false)
}

// nonNil keeps an empty slice non-nil (processor.Tensor tells the dtype by the set field).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// checkEmbedOutput verifies that the existing output is this run's: same metadata (model,
// manifest size, shard) and one row per pair.
func (b *batchRun) checkEmbedOutput() error {
	st, err := weights.OpenSafetensors(b.output)
	if err != nil {
		return err
	}
	defer st.Close()
	got := st.Metadata()
	for k, v := range b.embedMeta() {
		if got[k] != v {
			return fmt.Errorf("metadata %s is %q, want %q", k, got[k], v)
		}
	}
	t, err := st.Tensor("index")
	if err != nil {
		return err
	}
	if len(t.Shape) != 1 || int64(t.Shape[0]) != b.pairCount() {
		return fmt.Errorf("index has shape %v, want [%d]", t.Shape, b.pairCount())
	}
	return nil
}
