package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/vilt-vk/vilt-vk/processor"
)

func init() {
	register(&command{
		name:    "tokenize",
		summary: "tokenize text with a model's BERT tokenizer (tokens, ids, masks, decode)",
		run:     runTokenize,
	})
}

// procStrings is a repeatable string flag (--text a --text b).
type procStrings []string

func (s *procStrings) String() string     { return strings.Join(*s, " | ") }
func (s *procStrings) Set(v string) error { *s = append(*s, v); return nil }

// procTextFlags are the text flags tokenize and preprocess share.
type procTextFlags struct {
	model     string
	texts     procStrings
	pairs     procStrings
	padding   string
	maxLength int
	strict    bool
	noTrunc   bool
	noSpecial bool
}

func (f *procTextFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "model `DIR` (or hub id ORG/NAME[@REV] in the cache) with vocab.txt (or tokenizer.json), tokenizer_config.json, preprocessor_config.json")
	fs.Var(&f.texts, "text", "input `text` (repeat for a batch)")
	fs.Var(&f.pairs, "text-pair", "second segment for each --text (token type 1; repeat once per --text)")
	fs.StringVar(&f.padding, "padding", "", "none, longest or max_length (unset: none for one text, longest for a batch)")
	fs.IntVar(&f.maxLength, "max-length", 0, "maximum sequence length with special tokens (default: model_max_length, 40)")
	fs.BoolVar(&f.strict, "strict-length", false, "fail on text longer than --max-length instead of truncating it")
	fs.BoolVar(&f.noTrunc, "no-truncation", false, "let long text through as transformers does (the model cannot take it)")
	fs.BoolVar(&f.noSpecial, "no-special-tokens", false, "leave out [CLS] and [SEP]")
}

func (f *procTextFlags) encodeOptions() (processor.EncodeOptions, error) {
	pad, err := processor.ParsePadding(f.padding)
	if err != nil {
		return processor.EncodeOptions{}, usageErrorf("--padding: %v", err)
	}
	if f.maxLength < 0 {
		return processor.EncodeOptions{}, usageErrorf("--max-length must be >= 0")
	}
	if f.strict && f.noTrunc {
		return processor.EncodeOptions{}, usageErrorf("--strict-length and --no-truncation exclude each other")
	}
	o := processor.EncodeOptions{Padding: pad, MaxLength: f.maxLength, NoSpecialTokens: f.noSpecial}
	switch {
	case f.strict:
		o.Truncation = processor.TruncationError
	case f.noTrunc:
		o.Truncation = processor.TruncationNone
	}
	return o, nil
}

func (f *procTextFlags) check() error {
	if f.model == "" {
		return usageErrorf("--model DIR is required")
	}
	if len(f.texts) == 0 {
		return usageErrorf("at least one --text is required")
	}
	if len(f.pairs) > 0 && len(f.pairs) != len(f.texts) {
		return usageErrorf("%d --text but %d --text-pair: give one pair per text", len(f.texts), len(f.pairs))
	}
	if st, err := os.Stat(f.model); err != nil || !st.IsDir() {
		// A hub id ORG/NAME[@REV]: the snapshot folder in the Hugging Face cache.
		dir, err := locateModel(context.Background(), f.model, false, true)
		if err != nil {
			return err
		}
		f.model = dir
	}
	return nil
}

func (f *procTextFlags) pairList() []string {
	if len(f.pairs) == 0 {
		return nil
	}
	return f.pairs
}

// tokenizeReport is the JSON shape of `vilt tokenize --json`.
type tokenizeReport struct {
	InputIDs      [][]int64  `json:"input_ids"`
	TokenTypeIDs  [][]int64  `json:"token_type_ids"`
	AttentionMask [][]int64  `json:"attention_mask"`
	Tokens        [][]string `json:"tokens"`
	Decoded       []string   `json:"decoded"`
	Truncated     []int      `json:"truncated_tokens"`
}

func runTokenize(args []string, stdout io.Writer) error {
	fs := newFlagSet("tokenize")
	var tf procTextFlags
	tf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := tf.check(); err != nil {
		return err
	}
	opts, err := tf.encodeOptions()
	if err != nil {
		return err
	}
	tok, err := processor.LoadTokenizer(os.DirFS(tf.model))
	if err != nil {
		return err
	}
	be, err := tok.EncodeBatch(tf.texts, tf.pairList(), opts)
	if err != nil {
		return err
	}
	var rep tokenizeReport
	for _, e := range be.Encodings {
		rep.InputIDs = append(rep.InputIDs, e.IDs)
		rep.TokenTypeIDs = append(rep.TokenTypeIDs, e.TypeIDs)
		rep.AttentionMask = append(rep.AttentionMask, e.AttentionMask)
		rep.Tokens = append(rep.Tokens, e.Tokens)
		rep.Decoded = append(rep.Decoded, tok.Decode(e.IDs, true))
		rep.Truncated = append(rep.Truncated, e.Truncated)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	for i, text := range tf.texts {
		fmt.Fprintf(stdout, "text %d: %q\n", i, text)
		if len(tf.pairs) > 0 {
			fmt.Fprintf(stdout, "  pair:           %q\n", tf.pairs[i])
		}
		fmt.Fprintf(stdout, "  tokens:         %s\n", strings.Join(rep.Tokens[i], " "))
		fmt.Fprintf(stdout, "  input_ids:      %s\n", procJoinInts(rep.InputIDs[i]))
		fmt.Fprintf(stdout, "  token_type_ids: %s\n", procJoinInts(rep.TokenTypeIDs[i]))
		fmt.Fprintf(stdout, "  attention_mask: %s\n", procJoinInts(rep.AttentionMask[i]))
		fmt.Fprintf(stdout, "  decode:         %q\n", rep.Decoded[i])
		if n := rep.Truncated[i]; n > 0 {
			fmt.Fprintf(stdout, "  truncated:      %d tokens removed\n", n)
		}
	}
	return nil
}

func procJoinInts(v []int64) string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(x, 10))
	}
	return b.String()
}
