package processor

import (
	"errors"
	"fmt"
	"log/slog"
)

// Padding says how EncodeBatch pads.
type Padding int

const (
	// PaddingDefault is ViltProcessor's behaviour: none for one text, longest for a batch.
	PaddingDefault Padding = iota
	PaddingNone
	PaddingLongest
	PaddingMaxLength // pad to MaxLength
)

// ParsePadding reads "none", "longest", "max_length" (or "", meaning default).
func ParsePadding(s string) (Padding, error) {
	switch s {
	case "", "default":
		return PaddingDefault, nil
	case "none", "false", "do_not_pad":
		return PaddingNone, nil
	case "longest", "true":
		return PaddingLongest, nil
	case "max_length":
		return PaddingMaxLength, nil
	}
	return 0, fmt.Errorf("unknown padding %q (want none, longest or max_length)", s)
}

// Truncation says what happens to a text longer than MaxLength.
type Truncation int

const (
	// TruncationDefault cuts the text to MaxLength (longest_first for pairs) and
	// logs one warning per Tokenizer. transformers would let it through and the
	// model would then fail; we never send more than max_position_embeddings tokens.
	TruncationDefault Truncation = iota
	// TruncationError refuses long text with ErrTextTooLong.
	TruncationError
	// TruncationSilent cuts like TruncationDefault without a warning
	// (transformers' truncation=True).
	TruncationSilent
	// TruncationNone lets long text through (transformers' default); only for
	// inspection: the model cannot take it.
	TruncationNone
)

// EncodeOptions control Encode and EncodeBatch. The zero value is ViltProcessor's
// behaviour, except that over-long text is truncated.
type EncodeOptions struct {
	Padding    Padding
	Truncation Truncation
	// MaxLength bounds the sequence, special tokens included; 0 means ModelMaxLength (40).
	MaxLength int
	// NoSpecialTokens leaves out [CLS] and [SEP] (add_special_tokens=False).
	NoSpecialTokens bool
}

// Encoding is one encoded text (or text pair).
type Encoding struct {
	IDs           []int64
	TypeIDs       []int64
	AttentionMask []int64
	// Tokens are the token strings, special and padding tokens included.
	Tokens []string
	// Truncated counts the tokens removed to fit MaxLength.
	Truncated int
}

// Encode tokenizes text (and pair, if not empty) into model inputs:
// [CLS] text [SEP] (pair [SEP]), with token type 1 for the pair.
func (t *Tokenizer) Encode(text, pair string, opts EncodeOptions) (Encoding, error) {
	var pairPtr *string
	if pair != "" {
		pairPtr = &pair
	}
	e, err := t.encode(text, pairPtr, opts)
	if err != nil {
		return Encoding{}, err
	}
	if opts.Padding == PaddingMaxLength {
		t.pad(&e, t.maxLength(opts))
	}
	return e, nil
}

func (t *Tokenizer) maxLength(opts EncodeOptions) int {
	if opts.MaxLength > 0 {
		return opts.MaxLength
	}
	return t.opts.ModelMaxLength
}

func (t *Tokenizer) encode(text string, pair *string, opts EncodeOptions) (Encoding, error) {
	a := t.tokenizeText(text, nil)
	var b []piece
	if pair != nil {
		b = t.tokenizeText(*pair, nil)
	}
	specials := 0
	if !opts.NoSpecialTokens {
		specials = 2
		if pair != nil {
			specials = 3
		}
	}
	maxLen := t.maxLength(opts)
	total := len(a) + len(b) + specials
	removed := 0
	if total > maxLen && opts.Truncation != TruncationNone {
		if opts.Truncation == TruncationError {
			return Encoding{}, fmt.Errorf("%w: %d tokens with special tokens, the model takes at most %d", ErrTextTooLong, total, maxLen)
		}
		if maxLen < specials {
			return Encoding{}, fmt.Errorf("encode: max length %d is shorter than the %d special tokens", maxLen, specials)
		}
		removed = total - maxLen
		a, b = truncateLongestFirst(a, b, removed)
		if opts.Truncation == TruncationDefault && t.warned.CompareAndSwap(false, true) {
			l := t.Logger
			if l == nil {
				l = slog.Default()
			}
			l.Warn("text longer than the model's maximum sequence length: truncated (this warning is shown once)", "tokens", total, "max_length", maxLen)
		}
	}
	n := len(a) + len(b) + specials
	e := Encoding{
		IDs:           make([]int64, 0, n),
		TypeIDs:       make([]int64, 0, n),
		AttentionMask: make([]int64, 0, n),
		Tokens:        make([]string, 0, n),
		Truncated:     removed,
	}
	add := func(p piece, typ int64) {
		e.IDs = append(e.IDs, int64(p.id))
		e.TypeIDs = append(e.TypeIDs, typ)
		e.AttentionMask = append(e.AttentionMask, 1)
		e.Tokens = append(e.Tokens, p.text)
	}
	cls := piece{id: t.clsID, text: t.opts.ClsToken}
	sep := piece{id: t.sepID, text: t.opts.SepToken}
	if !opts.NoSpecialTokens {
		add(cls, 0)
	}
	for _, p := range a {
		add(p, 0)
	}
	if !opts.NoSpecialTokens {
		add(sep, 0)
	}
	if pair != nil {
		for _, p := range b {
			add(p, 1)
		}
		if !opts.NoSpecialTokens {
			add(sep, 1)
		}
	}
	return e, nil
}

// truncateLongestFirst removes n tokens, one at a time from the end of the
// longer sequence (the pair on ties), as transformers' longest_first does.
func truncateLongestFirst(a, b []piece, n int) ([]piece, []piece) {
	for ; n > 0; n-- {
		if len(b) == 0 || len(a) > len(b) {
			if len(a) == 0 {
				break
			}
			a = a[:len(a)-1]
		} else {
			b = b[:len(b)-1]
		}
	}
	return a, b
}

// pad appends [PAD] (attention 0, type 0) up to n tokens.
func (t *Tokenizer) pad(e *Encoding, n int) {
	for len(e.IDs) < n {
		e.IDs = append(e.IDs, int64(t.padID))
		e.TypeIDs = append(e.TypeIDs, 0)
		e.AttentionMask = append(e.AttentionMask, 0)
		e.Tokens = append(e.Tokens, t.opts.PadToken)
	}
}

// BatchEncoding is a padded batch, row-major [Batch, SeqLen].
type BatchEncoding struct {
	InputIDs      []int64
	TokenTypeIDs  []int64
	AttentionMask []int64
	Batch, SeqLen int
	Encodings     []Encoding // per text, padded
}

// EncodeBatch encodes texts (and pairs, nil or one per text) into one
// rectangle. With PaddingNone all texts must have the same length.
func (t *Tokenizer) EncodeBatch(texts, pairs []string, opts EncodeOptions) (*BatchEncoding, error) {
	if len(texts) == 0 {
		return nil, errors.New("encode batch: no texts")
	}
	if pairs != nil && len(pairs) != len(texts) {
		return nil, fmt.Errorf("encode batch: %d texts but %d text pairs", len(texts), len(pairs))
	}
	be := &BatchEncoding{Batch: len(texts), Encodings: make([]Encoding, len(texts))}
	for i, text := range texts {
		var p *string
		if pairs != nil {
			p = &pairs[i]
		}
		e, err := t.encode(text, p, opts)
		if err != nil {
			return nil, fmt.Errorf("text %d: %w", i, err)
		}
		be.Encodings[i] = e
		be.SeqLen = max(be.SeqLen, len(e.IDs))
	}
	pad := opts.Padding
	if pad == PaddingDefault {
		pad = PaddingLongest
		if len(texts) == 1 {
			pad = PaddingNone
		}
	}
	switch pad {
	case PaddingMaxLength:
		be.SeqLen = max(be.SeqLen, t.maxLength(opts))
	case PaddingNone:
		for i, e := range be.Encodings {
			if len(e.IDs) != be.SeqLen {
				return nil, fmt.Errorf("encode batch: without padding all texts need the same length; text %d has %d tokens, another %d", i, len(e.IDs), be.SeqLen)
			}
		}
	}
	n := be.Batch * be.SeqLen
	be.InputIDs = make([]int64, 0, n)
	be.TokenTypeIDs = make([]int64, 0, n)
	be.AttentionMask = make([]int64, 0, n)
	for i := range be.Encodings {
		e := &be.Encodings[i]
		t.pad(e, be.SeqLen)
		be.InputIDs = append(be.InputIDs, e.IDs...)
		be.TokenTypeIDs = append(be.TokenTypeIDs, e.TypeIDs...)
		be.AttentionMask = append(be.AttentionMask, e.AttentionMask...)
	}
	return be, nil
}
