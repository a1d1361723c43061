package processor

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// sharedDir is ../shared relative to the repository root (tests run in processor/).
const sharedDir = "../../shared"

func sharedPath(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(sharedDir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data not available: %v", err)
	}
	return p
}

var (
	vocabOnce sync.Once
	vocabVal  *Vocab
	vocabErr  error
)

// testTokenizer loads the bert-base-uncased vocab from shared/vilt-data.
func testTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	p := sharedPath(t, "vilt-data/vocab.txt")
	vocabOnce.Do(func() {
		f, err := os.Open(p)
		if err != nil {
			vocabErr = err
			return
		}
		defer f.Close()
		vocabVal, vocabErr = ReadVocabTxt(f)
	})
	if vocabErr != nil {
		t.Fatal(vocabErr)
	}
	tok, err := NewTokenizer(vocabVal, DefaultTokenizerOptions())
	if err != nil {
		t.Fatal(err)
	}
	tok.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return tok
}

type tokCase struct {
	Text                string          `json:"text"`
	TextPair            *string         `json:"text_pair"`
	InputIDs            []int64         `json:"input_ids"`
	TokenTypeIDs        []int64         `json:"token_type_ids"`
	AttentionMask       []int64         `json:"attention_mask"`
	Tokens              json.RawMessage `json:"tokens"`
	TokensWithSpecial   []string        `json:"tokens_with_special"`
	UntruncatedInputIDs []int64         `json:"untruncated_input_ids"`
	DecodeSkipSpecial   string          `json:"decode_skip_special"`
	DecodeWithSpecial   string          `json:"decode_with_special"`
}

type tokGolden struct {
	Cases []tokCase `json:"cases"`
	Batch struct {
		Texts         []string  `json:"texts"`
		InputIDs      [][]int64 `json:"input_ids"`
		TokenTypeIDs  [][]int64 `json:"token_type_ids"`
		AttentionMask [][]int64 `json:"attention_mask"`
	} `json:"batch_padding_longest"`
}

func loadTokGolden(t *testing.T) *tokGolden {
	data, err := os.ReadFile(sharedPath(t, "golden/tokenizer/bert_uncased_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tokGoldenFrom(t, data)
}

func tokGoldenFrom(t testing.TB, data []byte) *tokGolden {
	var g tokGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// TestTokenizerGolden checks every case of bert_uncased_cases.json: tokens, ids,
// masks (padding="max_length", truncation=True, max_length=40), untruncated ids and decode.
func TestTokenizerGolden(t *testing.T) {
	tok := testTokenizer(t)
	g := loadTokGolden(t)
	if len(g.Cases) != 45 {
		t.Errorf("golden has %d cases, want 45", len(g.Cases))
	}
	for i, c := range g.Cases {
		name := c.Text
		if len(name) > 40 {
			name = name[:40]
		}
		pair := ""
		if c.TextPair != nil {
			pair = *c.TextPair
		}
		// tokens
		var want []string
		if c.TextPair == nil {
			if err := json.Unmarshal(c.Tokens, &want); err != nil {
				t.Fatal(err)
			}
			if got := tok.Tokenize(c.Text); !slices.Equal(got, want) {
				t.Errorf("case %d %q: tokens\n got %q\nwant %q", i, name, got, want)
			}
		} else {
			var wantPair [][]string
			if err := json.Unmarshal(c.Tokens, &wantPair); err != nil {
				t.Fatal(err)
			}
			if got := tok.Tokenize(c.Text); !slices.Equal(got, wantPair[0]) {
				t.Errorf("case %d %q: tokens\n got %q\nwant %q", i, name, got, wantPair[0])
			}
			if got := tok.Tokenize(pair); !slices.Equal(got, wantPair[1]) {
				t.Errorf("case %d %q: pair tokens\n got %q\nwant %q", i, name, got, wantPair[1])
			}
		}
		e, err := tok.Encode(c.Text, pair, EncodeOptions{Padding: PaddingMaxLength, MaxLength: 40, Truncation: TruncationSilent})
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !reflect.DeepEqual(e.IDs, c.InputIDs) || !reflect.DeepEqual(e.TypeIDs, c.TokenTypeIDs) || !reflect.DeepEqual(e.AttentionMask, c.AttentionMask) {
			t.Errorf("case %d %q:\n ids  %v\nwant %v\n types %v\nwant %v\n mask %v\nwant %v", i, name, e.IDs, c.InputIDs, e.TypeIDs, c.TokenTypeIDs, e.AttentionMask, c.AttentionMask)
		}
		u, err := tok.Encode(c.Text, pair, EncodeOptions{Truncation: TruncationNone})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(u.IDs, c.UntruncatedInputIDs) {
			t.Errorf("case %d %q: untruncated ids\n got %v\nwant %v", i, name, u.IDs, c.UntruncatedInputIDs)
		}
		if got := e.Tokens[:len(c.TokensWithSpecial)]; !slices.Equal(got, c.TokensWithSpecial) && len(c.UntruncatedInputIDs) <= 40 {
			t.Errorf("case %d %q: tokens with special\n got %q\nwant %q", i, name, got, c.TokensWithSpecial)
		}
		var real []int64
		for j, id := range e.IDs {
			if e.AttentionMask[j] == 1 {
				real = append(real, id)
			}
		}
		if got := tok.Decode(real, true); got != c.DecodeSkipSpecial {
			t.Errorf("case %d %q: decode(skip)\n got %q\nwant %q", i, name, got, c.DecodeSkipSpecial)
		}
		if got := tok.Decode(real, false); got != c.DecodeWithSpecial {
			t.Errorf("case %d %q: decode\n got %q\nwant %q", i, name, got, c.DecodeWithSpecial)
		}
	}
}

// TestTokenizerGoldenBatch is tokenizer(texts, padding=True).
func TestTokenizerGoldenBatch(t *testing.T) {
	tok := testTokenizer(t)
	g := loadTokGolden(t)
	be, err := tok.EncodeBatch(g.Batch.Texts, nil, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows := func(flat []int64) [][]int64 {
		var out [][]int64
		for i := 0; i < be.Batch; i++ {
			out = append(out, flat[i*be.SeqLen:(i+1)*be.SeqLen])
		}
		return out
	}
	if !reflect.DeepEqual(rows(be.InputIDs), g.Batch.InputIDs) || !reflect.DeepEqual(rows(be.TokenTypeIDs), g.Batch.TokenTypeIDs) || !reflect.DeepEqual(rows(be.AttentionMask), g.Batch.AttentionMask) {
		t.Errorf("batch:\n ids %v\nwant %v\n mask %v\nwant %v", rows(be.InputIDs), g.Batch.InputIDs, rows(be.AttentionMask), g.Batch.AttentionMask)
	}
}

// TestTokenizerTruncationModes checks the default (truncate + warn once),
// TruncationError, and that padding/none rules hold.
func TestTokenizerTruncationModes(t *testing.T) {
	tok := testTokenizer(t)
	var logBuf strings.Builder
	tok.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	long := strings.Repeat("cat ", 60)
	for i := 0; i < 3; i++ {
		e, err := tok.Encode(long, "", EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.IDs) != 40 || e.IDs[39] != 102 || e.Truncated != 22 {
			t.Fatalf("default truncation: len %d last %d truncated %d", len(e.IDs), e.IDs[len(e.IDs)-1], e.Truncated)
		}
	}
	if n := strings.Count(logBuf.String(), "truncated"); n != 1 {
		t.Errorf("want one truncation warning, got %d: %s", n, logBuf.String())
	}
	_, err := tok.Encode(long, "", EncodeOptions{Truncation: TruncationError})
	if !errors.Is(err, ErrTextTooLong) {
		t.Errorf("TruncationError: got %v, want ErrTextTooLong", err)
	}
	if _, err := tok.EncodeBatch([]string{"a", "a b c"}, nil, EncodeOptions{Padding: PaddingNone}); err == nil {
		t.Error("PaddingNone with ragged batch: want an error")
	}
	be, err := tok.EncodeBatch([]string{"a"}, nil, EncodeOptions{})
	if err != nil || be.SeqLen != 3 {
		t.Errorf("single text default: seq %d err %v", be.SeqLen, err)
	}
	be, err = tok.EncodeBatch([]string{"a", "b"}, []string{"c d", "e"}, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0}; !reflect.DeepEqual(be.TokenTypeIDs, want) {
		t.Errorf("pair batch types %v want %v", be.TokenTypeIDs, want)
	}
	e, err := tok.Encode("how many cats", "", EncodeOptions{NoSpecialTokens: true})
	if err != nil || !reflect.DeepEqual(e.IDs, []int64{2129, 2116, 8870}) {
		t.Errorf("no special tokens: %v %v", e.IDs, err)
	}
}

// TestTokenizerEdgeCases covers behaviour the goldens leave out, checked by hand
// against BertTokenizer's code.
func TestTokenizerEdgeCases(t *testing.T) {
	tok := testTokenizer(t)
	cases := []struct {
		in   string
		want []string
	}{
		{"İstanbul", []string{"istanbul"}},           // U+0130 lowers to i + U+0307, accent then stripped
		{"a\u2028b", []string{"a", "b"}},             // Python's split() splits on LINE SEPARATOR
		{"x\U0001FAE8y", []string{"x", "##y"}},       // U+1FAE8 is new in Unicode 15: Cn in Python 14, dropped
		{"[MASK][SEP]", []string{"[MASK]", "[SEP]"}}, // adjacent specials
		{"a[CLS]b", []string{"a", "[CLS]", "b"}},
		{"\u0301", nil}, // a lone combining mark strips to nothing
		{"\xff\xfe", nil},
	}
	for _, c := range cases {
		if got := tok.Tokenize(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Tokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLoadTokenizerFromModelDir(t *testing.T) {
	dir := sharedPath(t, "golden/models/tiny-vilt-p32-vqa")
	tok, err := LoadTokenizer(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.TokenIDs("How many cats are there?"); !reflect.DeepEqual(got, []int{2129, 2116, 8870, 2024, 2045, 1029}) {
		t.Errorf("ids %v", got)
	}
	o := tok.Options()
	if !o.DoLowerCase || o.ModelMaxLength != 40 || o.StripAccents != nil || !o.TokenizeChineseChars ||
		o.ClsToken != "[CLS]" || o.MaskToken != "[MASK]" || tok.Vocab().Len() != 30522 {
		t.Errorf("options %+v, %d tokens", o, tok.Vocab().Len())
	}
	img, err := LoadImageOptions(os.DirFS(dir), "preprocessor_config.json")
	if err != nil || !reflect.DeepEqual(img, DefaultImageOptions()) {
		t.Errorf("preprocessor_config.json: %+v, %v", img, err)
	}
}
