package processor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Vocab maps WordPiece tokens to ids and back.
type Vocab struct {
	ids    map[string]int32
	tokens []string // index = id; "" for ids no token maps to
}

// NewVocab builds a vocabulary from tokens in id order (tokens[i] has id i).
// As in transformers' load_vocab, a repeated token keeps its last id.
func NewVocab(tokens []string) *Vocab {
	v := &Vocab{ids: make(map[string]int32, len(tokens)), tokens: make([]string, len(tokens))}
	for i, t := range tokens {
		if old, ok := v.ids[t]; ok {
			v.tokens[old] = "" // Python's ids_to_tokens is built from the token->id dict
		}
		v.ids[t] = int32(i)
		v.tokens[i] = t
	}
	return v
}

// ReadVocabTxt reads a BERT vocab.txt: one token per line, id = line number.
// Lines end at \n, \r\n or \r, as Python's universal-newline text mode reads them.
func ReadVocabTxt(r io.Reader) (*Vocab, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read vocab: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), len(data)+1)
	sc.Split(scanUniversalLines)
	var tokens []string
	for sc.Scan() {
		tokens = append(tokens, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read vocab: %w", err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("read vocab: empty vocabulary")
	}
	return NewVocab(tokens), nil
}

// scanUniversalLines splits on \n, \r\n and \r.
func scanUniversalLines(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		switch b {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // need one more byte to tell \r from \r\n
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// tokenizerJSON is the part of a tokenizers-library tokenizer.json we use.
type tokenizerJSON struct {
	Model struct {
		Type                    string           `json:"type"`
		Vocab                   map[string]int64 `json:"vocab"`
		UnkToken                string           `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    *int             `json:"max_input_chars_per_word"`
	} `json:"model"`
	Normalizer *struct {
		Type               string `json:"type"`
		Lowercase          *bool  `json:"lowercase"`
		StripAccents       *bool  `json:"strip_accents"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
	} `json:"normalizer"`
	AddedTokens []struct {
		ID      int64  `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
}

// maxVocabID bounds ids in tokenizer.json so a hostile file cannot make us allocate wildly.
const maxVocabID = 1 << 22

// ReadTokenizerJSON reads the vocabulary (and the normaliser settings it
// carries) from a tokenizers-library tokenizer.json with a WordPiece model.
// Options fields the file sets are written into opts.
func ReadTokenizerJSON(r io.Reader, opts *TokenizerOptions) (*Vocab, error) {
	var tj tokenizerJSON
	if err := json.NewDecoder(r).Decode(&tj); err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	if tj.Model.Type != "" && tj.Model.Type != "WordPiece" {
		return nil, fmt.Errorf("tokenizer.json: model type %q, want WordPiece", tj.Model.Type)
	}
	size := int64(0)
	for tok, id := range tj.Model.Vocab {
		if id < 0 || id >= maxVocabID {
			return nil, fmt.Errorf("tokenizer.json: token %q has id %d out of range", tok, id)
		}
		size = max(size, id+1)
	}
	for _, at := range tj.AddedTokens {
		if at.ID < 0 || at.ID >= maxVocabID {
			return nil, fmt.Errorf("tokenizer.json: added token %q has id %d out of range", at.Content, at.ID)
		}
		size = max(size, at.ID+1)
	}
	if size == 0 {
		return nil, fmt.Errorf("tokenizer.json: empty vocabulary")
	}
	// Ids left out stay without a token; one id with two different tokens is an error
	// (the map's random order would otherwise pick one).
	tokens := make([]string, size)
	set := func(tok string, id int64) error {
		if old := tokens[id]; old != "" && old != tok {
			return fmt.Errorf("tokenizer.json: id %d is both %q and %q", id, min(old, tok), max(old, tok))
		}
		tokens[id] = tok
		return nil
	}
	for tok, id := range tj.Model.Vocab {
		if err := set(tok, id); err != nil {
			return nil, err
		}
	}
	for _, at := range tj.AddedTokens {
		if err := set(at.Content, at.ID); err != nil {
			return nil, err
		}
	}
	v := &Vocab{ids: make(map[string]int32, len(tokens)), tokens: tokens}
	for id, tok := range tokens {
		if tok != "" {
			v.ids[tok] = int32(id)
		}
	}
	if opts != nil {
		if tj.Model.UnkToken != "" {
			opts.UnkToken = tj.Model.UnkToken
		}
		if p := tj.Model.ContinuingSubwordPrefix; p != nil {
			opts.ContinuingSubwordPrefix = *p
		}
		if m := tj.Model.MaxInputCharsPerWord; m != nil {
			opts.MaxInputCharsPerWord = *m
		}
		if n := tj.Normalizer; n != nil && n.Type == "BertNormalizer" {
			if n.Lowercase != nil {
				opts.DoLowerCase = *n.Lowercase
			}
			opts.StripAccents = n.StripAccents
			if n.HandleChineseChars != nil {
				opts.TokenizeChineseChars = *n.HandleChineseChars
			}
		}
		for _, at := range tj.AddedTokens {
			if at.Special && !containsString(opts.SpecialTokens, at.Content) {
				opts.SpecialTokens = append(opts.SpecialTokens, at.Content)
			}
		}
	}
	return v, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Len is the number of ids (the largest id + 1).
func (v *Vocab) Len() int { return len(v.tokens) }

// ID returns the id of token.
func (v *Vocab) ID(token string) (int, bool) {
	id, ok := v.ids[token]
	return int(id), ok
}

// Token returns the token with the given id, or "" and false.
func (v *Vocab) Token(id int) (string, bool) {
	if id < 0 || id >= len(v.tokens) || v.tokens[id] == "" {
		return "", false
	}
	return v.tokens[id], true
}

// lookupBytes avoids allocating: the compiler does not copy b for a map index.
func (v *Vocab) lookupBytes(b []byte) (int32, bool) {
	id, ok := v.ids[string(b)]
	return id, ok
}

func (v *Vocab) String() string {
	return fmt.Sprintf("Vocab(%d tokens)", len(v.ids))
}
