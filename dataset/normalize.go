package dataset

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Normalize returns the dedupe key of a text: Unicode NFKC normalization
// with full case folding (NFKC_Casefold: "Café" precomposed and "Cafe" with
// a combining accent, full-width "ｐｉｚｚａ" and "pizza", "STRASSE" and
// "straße" get one key), every run of white space (including U+2028, U+2029
// and control characters) collapsed to one space, and leading and trailing
// white space, punctuation and symbols trimmed. Interior punctuation is
// kept ("i'm hungry"). Invalid UTF-8 bytes become U+FFFD. Normalize is
// idempotent: Normalize(Normalize(s)) == Normalize(s). ASCII text takes a
// fast path (NFKC changes no ASCII character).
//
// The hold-out split does not use this key but SplitKey, which never
// changes, so that existing data keeps its side of the split.
func Normalize(text string) string {
	if k, ok := normalizeASCII(text); ok {
		return k
	}
	return normalizeSlow(foldNFKC(text))
}

// SplitKey is the key the hold-out split hashes (model.InHoldout): the
// normalization Normalize used before it applied NFKC and full case
// folding (simple per-rune case folding, white space collapsed, edge
// punctuation trimmed). It is frozen: a sample never changes sides of the
// split when the library is upgraded, so a root's held-out data stays
// held out. Texts Normalize merges into one sample may have different split
// keys; only the one sample that survives the dedupe is split.
func SplitKey(text string) string {
	if k, ok := normalizeASCII(text); ok {
		return k
	}
	return normalizeSlow(text)
}

// foldNFKC applies NFKC_Casefold: NFKC, full case folding, NFKC again
// (folding can undo the normal form).
func foldNFKC(text string) string {
	t := text
	if !norm.NFKC.IsNormalString(t) {
		t = norm.NFKC.String(t)
	}
	t = cases.Fold().String(t) // a Caser is not safe for concurrent use: one per call
	if !norm.NFKC.IsNormalString(t) {
		t = norm.NFKC.String(t)
	}
	return t
}

// asciiTrim marks the ASCII bytes Normalize trims at the ends (punctuation
// and symbols: every printable non-alphanumeric); asciiSpace the ones that
// count as white space (unicode.IsSpace or unicode.IsControl).
var asciiTrim, asciiSpace = func() (trim, space [128]bool) {
	for c := range rune(128) {
		trim[c] = c == ' ' || unicode.IsPunct(c) || unicode.IsSymbol(c)
		space[c] = unicode.IsSpace(c) || unicode.IsControl(c)
	}
	return trim, space
}()

// normalizeASCII is Normalize for pure-ASCII text; it returns text itself
// (no allocation) when it is already normalized. ok is false for non-ASCII
// text.
func normalizeASCII(text string) (string, bool) {
	clean := true
	prevSpace := true // at the start, spaces are dropped
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= 0x80 {
			return "", false
		}
		switch {
		case asciiSpace[c]:
			if c != ' ' || prevSpace {
				clean = false
			}
			prevSpace = true
		case 'A' <= c && c <= 'Z':
			clean = false
			prevSpace = false
		default:
			prevSpace = false
		}
	}
	if clean {
		// Only the ends may need trimming.
		i, j := 0, len(text)
		for i < j && asciiTrim[text[i]] {
			i++
		}
		for j > i && asciiTrim[text[j-1]] {
			j--
		}
		return text[i:j], true
	}
	b := make([]byte, 0, len(text))
	space := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if asciiSpace[c] {
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	i, j := 0, len(b)
	for i < j && asciiTrim[b[i]] {
		i++
	}
	for j > i && asciiTrim[b[j-1]] {
		j--
	}
	return string(b[i:j]), true
}

// normalizeSlow is Normalize for any text.
func normalizeSlow(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	space := false
	for _, r := range text {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(foldRune(r))
	}
	return strings.TrimFunc(b.String(), func(r rune) bool {
		return r == ' ' || unicode.IsPunct(r) || unicode.IsSymbol(r)
	})
}

// foldRune maps r to a canonical member of its case-folding orbit: the lower
// case form of the orbit's smallest rune when that stays in the orbit, else
// the smallest rune itself. Both choices depend only on the orbit, so the
// mapping is idempotent.
func foldRune(r rune) rune {
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	m := minOrbit(r)
	if l := unicode.ToLower(m); l != m && minOrbit(l) == m {
		return l
	}
	return m
}

func minOrbit(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}

// Dedupe returns samples with one sample per Normalize(Text) key: the newest
// by Timestamp, the later one on a tie. The result keeps the order in which
// each key first appeared; samples with an empty key are dropped. Dedupe is
// idempotent.
func Dedupe(samples []Sample) []Sample {
	idx := make(map[string]int, len(samples))
	out := make([]Sample, 0, len(samples))
	for _, s := range samples {
		k := Normalize(s.Text)
		if k == "" {
			continue
		}
		if i, ok := idx[k]; ok {
			if !s.Timestamp.Before(out[i].Timestamp) {
				out[i] = s
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, s)
	}
	return slices.Clip(out)
}
