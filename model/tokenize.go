package model

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// MaxTextBytes is the longest text the classifier looks at. Longer texts are
// truncated to their first MaxTextBytes bytes (backed off to a UTF-8 rune
// boundary) before tokenisation, both in training and in prediction, so one
// huge input cannot make a query slow or a training run blow up.
const MaxTextBytes = 64 << 10

// tokenConfig says which features the tokeniser emits.
type tokenConfig struct {
	WordNGrams int // longest word n-gram (1 = unigrams only)
	CharMin    int // shortest character n-gram; 0 = no character n-grams
	CharMax    int // longest character n-gram
}

// normalize appends to dst the normalized form of text that every feature is
// taken from, and returns it with the byte length of its word part.
//
// The word part is " w1 w2 ... wn " (each word between single spaces); the
// character part that follows is "<w1><w2>...<wn>". Words are maximal runs of
// Unicode letters, marks and digits, lower-cased, where an apostrophe (', ’
// or ʼ, all mapped to ') is kept only between two such characters: "don't"
// is one word, "'quoted'" is "quoted". Everything else, including invalid
// UTF-8 bytes, separates words. Because word features always start and end
// with a space and character n-grams never contain one, the two kinds of
// feature can never collide, and every feature is a substring of the result.
func normalize(dst []byte, text string, chars bool) (buf []byte, wordEnd int) {
	if len(text) > MaxTextBytes {
		text = truncate(text, MaxTextBytes)
	}
	dst = append(dst[:0], ' ')
	inWord := false
	pendingApos := false
	for i := 0; i < len(text); {
		c := text[i]
		var r rune
		if c < utf8.RuneSelf {
			r = rune(c)
			i++
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
				goto letter
			}
		} else {
			var w int
			r, w = utf8.DecodeRuneInString(text[i:])
			i += w
			if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) {
				r = unicode.ToLower(r)
				goto letter
			}
		}
		// not a word character
		if inWord && (r == '\'' || r == '’' || r == 'ʼ') && !pendingApos {
			pendingApos = true
			continue
		}
		if inWord {
			dst = append(dst, ' ')
			inWord = false
		}
		pendingApos = false
		continue
	letter:
		if pendingApos {
			dst = append(dst, '\'')
			pendingApos = false
		}
		dst = utf8.AppendRune(dst, r)
		inWord = true
	}
	if inWord {
		dst = append(dst, ' ')
	}
	if len(dst) == 1 { // no words: keep a single space
		return dst, 1
	}
	wordEnd = len(dst)
	if chars {
		// character part: "<w1><w2>...", one copy per word; each word of
		// the word part " w1 w2 ... " gains '<' and '>' and loses a space
		words := 0
		for _, c := range dst[1:wordEnd] {
			if c == ' ' {
				words++
			}
		}
		dst = slices.Grow(dst, wordEnd-1+words)
		out := dst[wordEnd : 2*wordEnd-1+words]
		j, start := 0, 1
		for i := 1; i < wordEnd; i++ {
			if dst[i] != ' ' {
				continue
			}
			out[j] = '<'
			j += 1 + copy(out[j+1:], dst[start:i])
			out[j] = '>'
			j++
			start = i + 1
		}
		dst = dst[:2*wordEnd-1+words]
	}
	return dst, wordEnd
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// wordStarts appends to starts the position of the space that precedes
// each word of the word part buf[:wordEnd] (see normalize), then that of the
// final space, and returns it: word w is buf[starts[w]+1 : starts[w+1]].
func wordStarts(buf []byte, wordEnd int, starts []int) []int {
	for i := 0; i < wordEnd-1; i++ {
		if buf[i] == ' ' {
			starts = append(starts, i)
		}
	}
	return append(starts, wordEnd-1)
}

// spans appends to out the bounds i, j (as two entries) of every feature
// buf[i:j] of the normalized buffer buf (as returned by normalize): word
// n-grams up to cfg.WordNGrams, then character n-grams of each "<word>" with
// cfg.CharMin..cfg.CharMax runes. starts is scratch space for word and rune
// offsets. It returns both slices, possibly grown, for reuse. It defines
// the features the tokeniser gives the vocabulary; vectorizer.features
// generates the same ones, in the same order, without building the
// character part.
func spans(buf []byte, wordEnd int, cfg tokenConfig, starts []int, out []int32) ([]int, []int32) {
	starts = wordStarts(buf, wordEnd, starts[:0])
	nw := len(starts) - 1
	for n := 1; n <= cfg.WordNGrams; n++ {
		for w := 0; w+n <= nw; w++ {
			out = append(out, int32(starts[w]), int32(starts[w+n]+1))
		}
	}
	if cfg.CharMin <= 0 || wordEnd >= len(buf) {
		return starts, out
	}
	// character part: split at each '<'
	part := buf[wordEnd:]
	base := len(starts)
	for s := 0; s < len(part); {
		e := s + 1
		for e < len(part) && part[e] != '<' {
			e++
		}
		// rune offsets of part[s:e] relative to buf
		starts = starts[:base]
		ascii := true
		for k := s; k < e; k++ {
			if part[k] >= utf8.RuneSelf {
				ascii = false
				break
			}
		}
		if ascii {
			L := e - s
			off := wordEnd + s
			for n := cfg.CharMin; n <= cfg.CharMax && n <= L; n++ {
				for k := 0; k+n <= L; k++ {
					out = append(out, int32(off+k), int32(off+k+n))
				}
			}
		} else {
			for k := s; k < e; {
				starts = append(starts, wordEnd+k)
				_, w := utf8.DecodeRune(part[k:e])
				k += w
			}
			starts = append(starts, wordEnd+e)
			runes := starts[base:]
			L := len(runes) - 1
			for n := cfg.CharMin; n <= cfg.CharMax && n <= L; n++ {
				for k := 0; k+n <= L; k++ {
					out = append(out, int32(runes[k]), int32(runes[k+n]))
				}
			}
		}
		s = e
	}
	return starts[:base], out
}

// tokeniser implements nlp.Tokeniser with the package's feature
// definition (see normalize and spans). It is what nlp.CountVectoriser
// fits the vocabulary with. It is safe for concurrent use.
type tokeniser struct {
	cfg tokenConfig
}

// ForEachIn calls f with every feature of text, in order, duplicates
// included.
func (t tokeniser) ForEachIn(text string, f func(token string)) {
	buf, wordEnd := normalize(nil, text, t.cfg.CharMin > 0)
	s := string(buf)
	_, sp := spans(buf, wordEnd, t.cfg, nil, nil)
	for k := 0; k < len(sp); k += 2 {
		f(s[sp[k]:sp[k+1]])
	}
}

// Tokenise returns every feature of text, in order, duplicates included.
func (t tokeniser) Tokenise(text string) []string {
	var out []string
	t.ForEachIn(text, func(tok string) { out = append(out, tok) })
	return out
}

// words returns the plain words of text (no n-grams, no padding).
func words(text string) []string {
	buf, wordEnd := normalize(nil, text, false)
	var out []string
	start := -1
	for i := 0; i < wordEnd; i++ {
		if buf[i] == ' ' {
			if start >= 0 && i > start {
				out = append(out, string(buf[start:i]))
			}
			start = i + 1
		}
	}
	return out
}
