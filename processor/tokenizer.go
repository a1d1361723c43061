package processor

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// ErrTextTooLong is returned when a text (with special tokens) is longer than
// the limit and TruncationError was asked for.
var ErrTextTooLong = errors.New("text too long")

// Tokenizer is transformers' slow BertTokenizer (WordPiece). It is safe for
// concurrent use.
type Tokenizer struct {
	vocab         *Vocab
	opts          TokenizerOptions
	specials      []string // every special token, matched in input text
	specialIDs    []int32
	specialFirst  [256]bool // first bytes of the special tokens
	specialSet    map[int32]bool
	unkID         int32
	clsID, sepID  int32
	padID         int32
	maxTokenRunes int
	warned        atomic.Bool
	// Logger receives the one-time truncation warning; nil means slog.Default().
	// Set it before the tokenizer is shared between goroutines.
	Logger *slog.Logger
}

// NewTokenizer builds a tokenizer. The unknown, CLS, SEP and PAD tokens must be in the vocabulary.
func NewTokenizer(vocab *Vocab, opts TokenizerOptions) (*Tokenizer, error) {
	if vocab == nil || vocab.Len() == 0 {
		return nil, errors.New("new tokenizer: empty vocabulary")
	}
	if opts.MaxInputCharsPerWord <= 0 {
		opts.MaxInputCharsPerWord = 100
	}
	if opts.ModelMaxLength <= 0 {
		opts.ModelMaxLength = 40
	}
	t := &Tokenizer{vocab: vocab, opts: opts, specialSet: map[int32]bool{}}
	need := []struct {
		name string
		tok  string
		id   *int32
	}{{"unk_token", opts.UnkToken, &t.unkID}, {"cls_token", opts.ClsToken, &t.clsID}, {"sep_token", opts.SepToken, &t.sepID}, {"pad_token", opts.PadToken, &t.padID}}
	for _, n := range need {
		id, ok := vocab.ids[n.tok]
		if !ok {
			return nil, fmt.Errorf("new tokenizer: %s %q is not in the vocabulary", n.name, n.tok)
		}
		*n.id = id
	}
	for _, s := range append([]string{opts.UnkToken, opts.SepToken, opts.PadToken, opts.ClsToken, opts.MaskToken}, opts.SpecialTokens...) {
		if s == "" || containsString(t.specials, s) {
			continue
		}
		id, ok := vocab.ids[s]
		if !ok {
			id = t.unkID
		}
		t.specials = append(t.specials, s)
		t.specialFirst[s[0]] = true
		t.specialIDs = append(t.specialIDs, id)
		if ok {
			t.specialSet[id] = true
		}
	}
	for _, tok := range vocab.tokens {
		tok = strings.TrimPrefix(tok, opts.ContinuingSubwordPrefix)
		t.maxTokenRunes = max(t.maxTokenRunes, utf8.RuneCountInString(tok))
	}
	return t, nil
}

// Options returns the tokenizer's settings.
func (t *Tokenizer) Options() TokenizerOptions { return t.opts }

// Vocab returns the vocabulary.
func (t *Tokenizer) Vocab() *Vocab { return t.vocab }

// Tokenize splits text into WordPiece tokens, without [CLS]/[SEP].
func (t *Tokenizer) Tokenize(text string) []string {
	ps := t.tokenizeText(text, nil)
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.text
	}
	return out
}

// TokenIDs is Tokenize followed by convert_tokens_to_ids.
func (t *Tokenizer) TokenIDs(text string) []int {
	ps := t.tokenizeText(text, nil)
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = int(p.id)
	}
	return out
}

// IsSpecialID reports whether id is one of the special tokens' ids.
func (t *Tokenizer) IsSpecialID(id int) bool {
	return id >= 0 && id <= 1<<31-1 && t.specialSet[int32(id)]
}

// Decode turns ids back into text as transformers' decode does: tokens joined
// with spaces, " ##" removed, then (CleanUpTokenizationSpaces) the space before
// . ? ! , and English contractions removed. Unknown ids decode as the unknown token.
func (t *Tokenizer) Decode(ids []int64, skipSpecialTokens bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if skipSpecialTokens && id >= 0 && id < 1<<31 && t.specialSet[int32(id)] {
			continue
		}
		tok, ok := t.vocab.Token(int(min(max(id, -1), 1<<31-1)))
		if !ok {
			tok = t.opts.UnkToken
		}
		toks = append(toks, tok)
	}
	s := strings.TrimFunc(strings.ReplaceAll(strings.Join(toks, " "), " "+t.opts.ContinuingSubwordPrefix, ""), isPySpace) // Python str.strip()
	if t.opts.CleanUpTokenizationSpaces {
		s = CleanUpTokenization(s)
	}
	return s
}

var cleanUpReplacer = []struct{ old, new string }{
	{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
	{" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
}

// CleanUpTokenization is transformers' clean_up_tokenization: the replacements
// run one after another, in this order (which matters: " ' " before " 's").
func CleanUpTokenization(s string) string {
	for _, r := range cleanUpReplacer {
		if strings.Contains(s, r.old) {
			s = strings.ReplaceAll(s, r.old, r.new)
		}
	}
	return s
}
