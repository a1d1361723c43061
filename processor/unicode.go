package processor

import "unicode"

// The predicates below copy transformers' tokenization_bert helpers. Python's
// unicodedata there is Unicode 14; Go's tables are newer, so characters assigned
// since 14.0 (unicode14Newer) are treated as unassigned (category Cn), as Python does.

// isBertControl reports whether _clean_text drops r: category C* (Cc, Cf, Co, Cs, Cn)
// except \t, \n and \r, plus NUL and U+FFFD.
func isBertControl(r rune) bool {
	if r < 0x80 {
		return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
	}
	if r == 0xFFFD {
		return true
	}
	if unicode.Is(unicode.C, r) || unicode.Is(unicode14Newer, r) {
		return true
	}
	return !isAssigned(r)
}

// isAssigned reports whether r has a category other than Cn in Go's tables.
func isAssigned(r rune) bool {
	for _, t := range assignedTables {
		if unicode.Is(t, r) {
			return true
		}
	}
	return false
}

var assignedTables = []*unicode.RangeTable{unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C}

// isBertWhitespace is _is_whitespace: space, \t, \n, \r or category Zs.
func isBertWhitespace(r rune) bool {
	if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
		return true
	}
	return r >= 0x80 && unicode.Is(unicode.Zs, r)
}

// isPySpace is Python's str.isspace (what str.split() splits on), Unicode 14.
func isPySpace(r rune) bool {
	switch {
	case r <= 0x20:
		return r == ' ' || (r >= 0x09 && r <= 0x0D) || (r >= 0x1C && r <= 0x1F)
	case r < 0x85:
		return false
	}
	switch r {
	case 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// isBertPunct is _is_punctuation: the ASCII symbol ranges (so $ + < = > ^ ` | ~ count)
// or any Unicode category P*.
func isBertPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	if r < 0x80 {
		return false
	}
	return unicode.Is(unicode.P, r) && !unicode.Is(unicode14Newer, r)
}

// isCJK is _is_chinese_char: the CJK Unified Ideographs blocks, extensions and
// compatibility blocks (not kana or Hangul).
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// isMn reports category Mn (what _run_strip_accents drops).
func isMn(r rune) bool {
	return r >= 0x300 && unicode.Is(unicode.Mn, r) && !unicode.Is(unicode14Newer, r)
}

// pyLower appends Python's str.lower() of one character.
func pyLower(dst []rune, r rune) []rune {
	if r < 0x80 {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, r)
	}
	if r == 0x130 { // the one unconditional multi-character lower-case mapping
		return append(dst, 'i', 0x307)
	}
	if unicode.Is(unicode14Newer, r) {
		return append(dst, r)
	}
	return append(dst, unicode.ToLower(r))
}
