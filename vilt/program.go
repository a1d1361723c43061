package vilt

import (
	"fmt"

	"github.com/vilt-vk/vilt-vk/gpu"
	"github.com/vilt-vk/vilt-vk/graph"
	"github.com/vilt-vk/vilt-vk/weights"
)

// shapeKey identifies one compiled forward: everything the recorded command buffer depends on.
type shapeKey struct {
	B, T, H, W, L, N int
	hidden, attn     bool
	modIdx           int
	profile          bool
	textEmbeds       bool // inputs_embeds replaces the word lookup
	imageEmbeds      bool // image_embeds replaces the visual embedding (then L is its length - 1)
	// textRowsOnly: the last layer's attention output and FFN run on the text rows only,
	// the rows the pooler and every head read (ForwardOptions.SkipLastHiddenState).
	textRowsOnly bool
}

// layerEps is ViLT's LayerNorm eps in the backbone and the MLM head; the VQA/NLVR2
// classifier LayerNorm uses PyTorch's default 1e-5 (README §3.10).
const classifierEps = 1e-5

// buildProgram describes a whole forward for one input shape.
func (r *replica) buildProgram(key shapeKey) (*graph.Executable, error) {
	cfg, k, w := r.cfg, r.k, r.w
	p := graph.NewProgram(k)
	H, T, B := cfg.HiddenSize, key.T, key.B
	P, C := cfg.PatchSize, cfg.NumChannels
	hp, wp := key.H/P, key.W/P
	np := hp * wp
	S := T + 1 + key.L
	heads := cfg.NumAttentionHeads
	eps := float32(cfg.LayerNormEps)
	F32, I32 := graph.F32, graph.I32
	c := func(t graph.Tensor) *graph.Value { return p.Const(t) }

	ids := p.Input("input_ids", I32, B, T)
	tt := p.Input("token_type_ids", I32, B, T)
	idxText := p.Input("idx_text", I32, B*S)
	idxPool := p.Input("idx_pool", I32, B)
	// idx_text_rows: the text rows' positions among the B·S sequence rows.
	var idxTextRows *graph.Value
	if key.textRowsOnly || r.head == weights.HeadMLM || r.head == weights.HeadTokenClassification {
		idxTextRows = p.Input("idx_text_rows", I32, B*T)
	}
	word, seg, tpos := c(w.word), c(w.segment), c(w.textPos)
	lnw, lnb := c(w.textLNW), c(w.textLNB)
	modality, clsRows, posGrid := c(w.modality), c(w.clsRows), c(w.posGrid)

	text := p.Temp("text", F32, B, T, H)
	if key.textEmbeds {
		// transformers: (inputs_embeds + token_type_embeddings) + position_embeddings
		emb := p.Input("inputs_embeds", F32, B, T, H)
		segRows := p.Temp("segment_rows", F32, B, T, H)
		p.Op("text_embedding", func(rec *gpu.Recorder, get graph.Getter) error {
			if err := k.Embedding(rec, get(segRows), get(seg), get(tt)); err != nil {
				return err
			}
			if err := k.Add(rec, get(text), get(emb), get(segRows)); err != nil {
				return err
			}
			return k.Add(rec, get(text), get(text), get(tpos).View(0, T, H))
		}, emb, seg, tt, segRows, text, tpos)
	} else {
		p.Op("text_embedding", func(rec *gpu.Recorder, get graph.Getter) error {
			return k.TextEmbedding(rec, get(text), get(word), get(seg), get(tpos), get(ids), get(tt))
		}, word, seg, tpos, ids, tt, text)
	}
	p.Op("layernorm", func(rec *gpu.Recorder, get graph.Getter) error {
		return k.LayerNorm(rec, get(text), get(text), get(lnw), get(lnb), eps)
	}, text, lnw, lnb)
	p.Op("add_modality", func(rec *gpu.Recorder, get graph.Getter) error {
		return k.Add(rec, get(text), get(text), get(modality).View(0, H))
	}, text, modality)

	var poolers []*graph.Value
	var lastHidden *graph.Value
	for img := 0; img < key.N; img++ {
		pfx := ""
		modIdx := key.modIdx
		if r.head == weights.HeadNLVR2 {
			pfx = fmt.Sprintf("img%d.", img)
			modIdx = img + 1
		}
		idxImg := p.Input(pfx+"idx_img", I32, B*S)
		idxCLS := p.Input(pfx+"idx_cls", I32, B*S)
		maskAdd := p.Input(pfx+"mask_add", F32, B, S)
		var patches, cls *graph.Value
		mi := modIdx
		if key.imageEmbeds {
			// image_embeds [B, 1+L, H] (image CLS first) replace the visual embedding; the
			// modality row is still added, as transformers does.
			patches = p.Input(pfx+"image_embeds", F32, B, 1+key.L, H)
			p.Op("add_modality", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.Add(rec, get(patches), get(patches), get(modality).View(mi*H, H))
			}, patches, modality)
			cls = patches
		} else {
			pix := p.Input(pfx+"pixel_values", F32, B, C, key.H, key.W)
			sizes := p.Input(pfx+"sizes", I32, B, 2)
			cols := p.Temp("im2col", F32, B*np, C*P*P)
			p.Op("im2col", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.Im2col(rec, get(cols), get(pix), P)
			}, pix, cols)
			patches = p.Temp("patches", F32, B*np, H)
			pt := patches
			p.Op("linear_patch", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.Linear(rec, get(pt), get(cols), w.patch, 0, nil)
			}, cols, patches)
			pos := p.Temp("pos", F32, B, hp, wp, H)
			p.Op("interp_pos", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.InterpPosEmbed(rec, get(pos), get(posGrid), get(sizes))
			}, posGrid, sizes, pos)
			p.Op("add_pos", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.Add(rec, get(pt), get(pt), get(pos).View(0, B*np, H))
			}, patches, pos)
			p.Op("add_modality", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.Add(rec, get(pt), get(pt), get(modality).View(mi*H, H))
			}, patches, modality)
			cls = clsRows
		}
		src := patches
		clsSrc := cls
		x0 := r.seqValue(p, key.hidden, pfx+"hidden_states.0", B, S, H)
		p.Op("gather_sequence", func(rec *gpu.Recorder, get graph.Getter) error {
			xs := get(x0).View(0, B*S, H)
			if err := k.GatherRows(rec, xs, 0, get(text).View(0, B*T, H), get(idxText)); err != nil {
				return err
			}
			if err := k.GatherRows(rec, xs, 0, flatRows(get(clsSrc), H), get(idxCLS)); err != nil {
				return err
			}
			return k.GatherRows(rec, xs, 0, flatRows(get(src), H), get(idxImg))
		}, x0, text, clsSrc, src, idxText, idxCLS, idxImg)
		x := x0 // the running hidden state; closures below copy it (x changes per layer)

		for li, L := range w.layers {
			L := L
			lbw, lbb, law, lab := c(L.lnBeforeW), c(L.lnBeforeB), c(L.lnAfterW), c(L.lnAfterB)
			xin := x
			a := p.Temp("ln_before", F32, B, S, H)
			p.Op("layernorm", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.LayerNorm(rec, get(a), get(xin), get(lbw), get(lbb), eps)
			}, xin, a, lbw, lbb)
			qkv := p.Temp("qkv", F32, B, S, 3*H)
			p.Op("linear_qkv", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.Linear(rec, get(qkv), get(a), L.qkv, 0, nil)
			}, a, qkv)
			ctx := p.Temp("context", F32, B, S, H)
			var probs *graph.Value
			if key.attn {
				probs = p.Output(fmt.Sprintf("%sattentions.%d", pfx, li), F32, B, heads, S, S)
			}
			uses := []*graph.Value{qkv, maskAdd, ctx}
			if probs != nil {
				uses = append(uses, probs)
			}
			p.Op("attention", func(rec *gpu.Recorder, get graph.Getter) error {
				var pt *graph.Tensor
				if probs != nil {
					t := get(probs)
					pt = &t
				}
				return k.Attention(rec, get(ctx), get(qkv), get(maskAdd), heads, pt)
			}, uses...)
			// The last layer of a textRowsOnly forward continues on the text rows alone:
			// attention above still attended over the whole sequence, and nothing after this
			// layer reads the image rows.
			rows := B * S
			ctxIn, res1 := ctx, xin
			if key.textRowsOnly && li == len(w.layers)-1 {
				rows = B * T
				ctxIn, res1 = p.Temp("context_text", F32, rows, H), p.Temp("hidden_text", F32, rows, H)
				ct, rt := ctxIn, res1
				p.Op("gather_text_rows", func(rec *gpu.Recorder, get graph.Getter) error {
					if err := k.GatherRows(rec, get(ct), 0, flatRows(get(ctx), H), get(idxTextRows)); err != nil {
						return err
					}
					return k.GatherRows(rec, get(rt), 0, flatRows(get(xin), H), get(idxTextRows))
				}, ctx, xin, ct, rt, idxTextRows)
			}
			x1 := p.Temp("x1", F32, rows, H)
			p.Op("linear_attn_out", func(rec *gpu.Recorder, get graph.Getter) error {
				res := flatRows(get(res1), H)
				return k.Linear(rec, get(x1), flatRows(get(ctxIn), H), L.out, graph.EpiResidual, &res)
			}, ctxIn, res1, x1)
			b2 := p.Temp("ln_after", F32, rows, H)
			p.Op("layernorm", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.LayerNorm(rec, get(b2), get(x1), get(law), get(lab), eps)
			}, x1, b2, law, lab)
			m := p.Temp("ffn", F32, rows, cfg.IntermediateSize)
			p.Op("linear_fc1_gelu", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.Linear(rec, get(m), get(b2), L.fc1, graph.EpiGELU, nil)
			}, b2, m)
			var x2 *graph.Value
			if rows == B*S {
				x2 = r.seqValue(p, key.hidden, fmt.Sprintf("%shidden_states.%d", pfx, li+1), B, S, H)
			} else {
				x2 = p.Temp("hidden_text_out", F32, rows, H)
			}
			p.Op("linear_fc2", func(rec *gpu.Recorder, get graph.Getter) error {
				res := get(x1)
				return k.Linear(rec, flatRows(get(x2), H), get(m), L.fc2, graph.EpiResidual, &res)
			}, m, x1, x2)
			x = x2
		}
		fw, fb := c(w.finalLNW), c(w.finalLNB)
		var lhs *graph.Value
		if key.textRowsOnly {
			lhs = p.Temp(pfx+"last_hidden_text", F32, B, T, H) // the pooler's rows are b·T (idx_pool)
		} else {
			lhs = p.Output(pfx+"last_hidden_state", F32, B, S, H)
		}
		xf := x
		p.Op("layernorm", func(rec *gpu.Recorder, get graph.Getter) error {
			return k.LayerNorm(rec, get(lhs), get(xf), get(fw), get(fb), eps)
		}, xf, lhs, fw, fb)
		lastHidden = lhs
		if w.pooler != nil {
			first := p.Temp("cls_rows", F32, B, H)
			p.Op("gather_cls", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.GatherRows(rec, get(first), 0, flatRows(get(lhs), H), get(idxPool))
			}, lhs, first, idxPool)
			pooled := p.Output(pfx+"pooler_output", F32, B, H)
			p.Op("linear_pooler_tanh", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.Linear(rec, get(pooled), get(first), w.pooler, graph.EpiTanh, nil)
			}, first, pooled)
			poolers = append(poolers, pooled)
		}
	}
	if err := r.buildHead(p, key, lastHidden, poolers, idxTextRows); err != nil {
		return nil, err
	}
	return p.Compile(graph.CompileOptions{Profile: key.profile})
}

// flatRows views a tensor as rows of width h.
func flatRows(t graph.Tensor, h int) graph.Tensor { return t.View(0, t.Len()/h, h) }

// seqValue is a [B,S,H] hidden state: an output when hidden states are requested.
func (r *replica) seqValue(p *graph.Program, out bool, name string, B, S, H int) *graph.Value {
	if out {
		return p.Output(name, graph.F32, B, S, H)
	}
	return p.Temp(name, graph.F32, B, S, H)
}

// buildHead appends the task head (README §3.10).
// lhs is [B,S,H], or [B,T,H] in a textRowsOnly forward; idxTextRows the text rows of [B,S,H].
func (r *replica) buildHead(p *graph.Program, key shapeKey, lhs *graph.Value, poolers []*graph.Value, idxTextRows *graph.Value) error {
	cfg, k, w := r.cfg, r.k, r.w
	H, B, T := cfg.HiddenSize, key.B, key.T
	S := T + 1 + key.L
	F32, I32 := graph.F32, graph.I32
	c := func(t graph.Tensor) *graph.Value { return p.Const(t) }
	switch r.head {
	case weights.HeadMLM, weights.HeadTokenClassification:
		tx := lhs // textRowsOnly: already the text rows, in order
		if !key.textRowsOnly {
			tx = p.Temp("text_rows", F32, B*T, H)
			p.Op("gather_text", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.GatherRows(rec, get(tx), 0, get(lhs).View(0, B*S, H), get(idxTextRows))
			}, lhs, tx, idxTextRows)
		}
		if r.head == weights.HeadTokenClassification {
			logits := p.Output("logits", F32, B, T, w.tokcls.N)
			p.Op("linear_classifier", func(rec *gpu.Recorder, get graph.Getter) error {
				return k.Linear(rec, get(logits), get(tx), w.tokcls, 0, nil)
			}, tx, logits)
			return nil
		}
		tr := p.Temp("mlm_transform", F32, B*T, H)
		p.Op("linear_mlm_transform_gelu", func(rec *gpu.Recorder, get graph.Getter) error {
			return k.Linear(rec, get(tr), get(tx), w.mlmTransform, graph.EpiGELU, nil)
		}, tx, tr)
		mw, mb := c(w.mlmLNW), c(w.mlmLNB)
		p.Op("layernorm", func(rec *gpu.Recorder, get graph.Getter) error {
			return k.LayerNorm(rec, get(tr), get(tr), get(mw), get(mb), float32(cfg.LayerNormEps))
		}, tr, mw, mb)
		logits := p.Output("logits", F32, B, T, cfg.VocabSize)
		p.Op("linear_mlm_decoder", func(rec *gpu.Recorder, get graph.Getter) error {
			return k.Linear(rec, get(logits), get(tr), w.mlmDecoder, 0, nil)
		}, tr, logits)
	case weights.HeadVQA, weights.HeadNLVR2:
		in := poolers[0]
		if len(poolers) > 1 {
			n := len(poolers)
			cat := p.Temp("pooler_concat", F32, B, n*H)
			uses := append([]*graph.Value{cat}, poolers...)
			idxs := make([]*graph.Value, n)
			for i := range idxs {
				idxs[i] = p.Input(fmt.Sprintf("idx_concat%d", i), I32, B*n)
				uses = append(uses, idxs[i])
			}
			p.Op("concat_poolers", func(rec *gpu.Recorder, get graph.Getter) error {
				for i, pv := range poolers {
					if err := k.GatherRows(rec, get(cat).View(0, B*n, H), 0, get(pv), get(idxs[i])); err != nil {
						return err
					}
				}
				return nil
			}, uses...)
			in = cat
		}
		mid := p.Temp("classifier_hidden", F32, B, w.cls0.N)
		p.Op("linear_classifier0", func(rec *gpu.Recorder, get graph.Getter) error {
			return k.Linear(rec, get(mid), get(in), w.cls0, 0, nil)
		}, in, mid)
		cw, cb := c(w.cls1W), c(w.cls1B)
		p.Op("layernorm", func(rec *gpu.Recorder, get graph.Getter) error {
			return k.LayerNorm(rec, get(mid), get(mid), get(cw), get(cb), classifierEps)
		}, mid, cw, cb)
		p.Op("gelu", func(rec *gpu.Recorder, get graph.Getter) error {
			return k.GELU(rec, get(mid), get(mid))
		}, mid)
		logits := p.Output("logits", F32, B, w.cls3.N)
		p.Op("linear_classifier3", func(rec *gpu.Recorder, get graph.Getter) error {
			return k.Linear(rec, get(logits), get(mid), w.cls3, 0, nil)
		}, mid, logits)
	case weights.HeadRetrieval:
		logits := p.Output("logits", F32, B, 1)
		pool := poolers[0]
		p.Op("linear_rank", func(rec *gpu.Recorder, get graph.Getter) error {
			return k.Linear(rec, get(logits), get(pool), w.rank, 0, nil)
		}, pool, logits)
	}
	return nil
}
