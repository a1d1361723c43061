package processor

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// piece is one WordPiece token: its id and its text (a vocab entry, or a
// never-split word kept verbatim).
type piece struct {
	id   int32
	text string
}

// tokenizeText is BertTokenizer.tokenize: special tokens are cut out first
// (case-sensitive, leftmost then longest, never split), the rest goes through
// the basic tokenizer and WordPiece. One pass over the text: linear time.
func (t *Tokenizer) tokenizeText(text string, out []piece) []piece {
	start := 0
	for i := 0; i < len(text); {
		if t.specialFirst[text[i]] {
			if k := t.matchSpecial(text[i:]); k >= 0 {
				if i > start {
					out = t.tokenizePiece(text[start:i], out)
				}
				out = append(out, piece{id: t.specialIDs[k], text: t.specials[k]})
				i += len(t.specials[k])
				start = i
				continue
			}
		}
		i++
	}
	if start < len(text) {
		out = t.tokenizePiece(text[start:], out)
	}
	return out
}

// matchSpecial returns the index of the longest special token s starts with, or -1.
func (t *Tokenizer) matchSpecial(s string) int {
	best := -1
	for k, sp := range t.specials {
		if strings.HasPrefix(s, sp) && (best < 0 || len(sp) > len(t.specials[best])) {
			best = k
		}
	}
	return best
}

// tokenizePiece runs BasicTokenizer then WordPiece on text that holds no special token.
func (t *Tokenizer) tokenizePiece(text string, out []piece) []piece {
	o := &t.opts
	if !o.DoBasicTokenize {
		for _, w := range strings.FieldsFunc(text, isPySpace) {
			out = t.wordpiece(w, out)
		}
		return out
	}
	// 1. transformers lower-cases everything but special tokens first, one character at a time.
	// 2. _clean_text.  3. _tokenize_chinese_chars.
	buf := make([]rune, 0, len(text)+8)
	ascii := true
	for _, r := range text {
		if o.DoLowerCase {
			var tmp [2]rune
			for _, lr := range pyLower(tmp[:0], r) {
				buf, ascii = t.cleanAppend(buf, lr, ascii)
			}
		} else {
			buf, ascii = t.cleanAppend(buf, r, ascii)
		}
	}
	s := string(buf)
	// 4. NFC (ASCII is already NFC).
	if !ascii {
		s = norm.NFC.String(s)
	}
	// 5. Split on whitespace, then each word: lower-case, strip accents, split punctuation.
	for _, w := range strings.FieldsFunc(s, isPySpace) {
		if containsString(o.NeverSplit, w) { // kept whole, looked up as is
			id, ok := t.vocab.ids[w]
			if !ok {
				id = t.unkID
			}
			out = append(out, piece{id: id, text: w})
			continue
		}
		if containsString(t.specials, w) { // not lower-cased or split, but still WordPiece'd
			out = t.wordpiece(w, out)
			continue
		}
		if !ascii {
			w = t.normalizeWord(w)
		}
		out = t.splitPunct(w, out)
	}
	return out
}

// cleanAppend applies _clean_text and _tokenize_chinese_chars to one rune.
func (t *Tokenizer) cleanAppend(buf []rune, r rune, ascii bool) ([]rune, bool) {
	if r == 0 || isBertControl(r) {
		return buf, ascii
	}
	if isBertWhitespace(r) {
		return append(buf, ' '), ascii
	}
	if r >= utf8.RuneSelf {
		ascii = false
		if t.opts.TokenizeChineseChars && isCJK(r) {
			return append(buf, ' ', r, ' '), ascii
		}
	}
	return append(buf, r), ascii
}

// normalizeWord lower-cases (again, as BasicTokenizer does) and strips accents:
// NFD, then drop category Mn.
func (t *Tokenizer) normalizeWord(w string) string {
	o := &t.opts
	strip := o.StripAccents != nil && *o.StripAccents
	if o.DoLowerCase {
		var rs []rune
		for _, r := range w {
			rs = pyLower(rs, r)
		}
		w = string(rs)
		strip = o.StripAccents == nil || *o.StripAccents
	}
	if !strip {
		return w
	}
	d := norm.NFD.String(w)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if !isMn(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitPunct is _run_split_on_punc: every punctuation character becomes its own
// word; the words then go through WordPiece.
func (t *Tokenizer) splitPunct(w string, out []piece) []piece {
	start := 0
	for i, r := range w {
		if !isBertPunct(r) {
			continue
		}
		if i > start {
			out = t.wordpiece(w[start:i], out)
		}
		n := utf8.RuneLen(r)
		out = t.wordpiece(w[i:i+n], out)
		start = i + n
	}
	if start < len(w) {
		out = t.wordpiece(w[start:], out)
	}
	return out
}

// wordpiece is WordpieceTokenizer.tokenize for one word: greedy longest match
// first, continuations prefixed with ##; an unmatched position or a word over
// MaxInputCharsPerWord characters gives [UNK] for the whole word.
func (t *Tokenizer) wordpiece(w string, out []piece) []piece {
	n := utf8.RuneCountInString(w)
	if n > t.opts.MaxInputCharsPerWord {
		return append(out, t.unkPiece())
	}
	if id, ok := t.vocab.ids[w]; ok { // whole word: the common case
		return append(out, piece{id: id, text: t.vocab.tokens[id]})
	}
	mark := len(out)
	// byte offset of every rune boundary
	var offsBuf [64]int
	offs := offsBuf[:0]
	for i := range w {
		offs = append(offs, i)
	}
	offs = append(offs, len(w))
	var keyBuf [128]byte
	prefix := t.opts.ContinuingSubwordPrefix
	start := 0
	for start < n {
		found := false
		end := min(n, start+t.maxTokenRunes)
		for ; end > start; end-- {
			key := keyBuf[:0]
			if start > 0 {
				key = append(key, prefix...)
			}
			key = append(key, w[offs[start]:offs[end]]...)
			if id, ok := t.vocab.lookupBytes(key); ok {
				out = append(out, piece{id: id, text: t.vocab.tokens[id]})
				found = true
				break
			}
		}
		if !found {
			return append(out[:mark], t.unkPiece())
		}
		start = end
	}
	return out
}

func (t *Tokenizer) unkPiece() piece {
	return piece{id: t.unkID, text: t.opts.UnkToken}
}
