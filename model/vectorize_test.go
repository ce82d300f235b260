package model

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/james-bowman/nlp"
	"github.com/james-bowman/sparse"
)

var _ nlp.Tokeniser = tokeniser{}

func TestTokeniser(t *testing.T) {
	words2 := tokenConfig{WordNGrams: 2}
	tests := []struct {
		name string
		cfg  tokenConfig
		text string
		want []string
	}{
		{"empty", words2, "", nil},
		{"whitespace", words2, " \t\n ", nil},
		{"punctuation only", words2, "?!...", nil},
		{"lower-case and bigrams", words2, "Hello  World", []string{" hello ", " world ", " hello world "}},
		{"apostrophe inside word", tokenConfig{WordNGrams: 1}, "I don't KNOW", []string{" i ", " don't ", " know "}},
		{"curly apostrophe", tokenConfig{WordNGrams: 1}, "don’t", []string{" don't "}},
		{"apostrophes at edges dropped", tokenConfig{WordNGrams: 1}, "'quoted' rock'n'roll", []string{" quoted ", " rock'n'roll "}},
		{"digits", tokenConfig{WordNGrams: 1}, "call 911 at 7pm", []string{" call ", " 911 ", " at ", " 7pm "}},
		{"unicode letters", tokenConfig{WordNGrams: 1}, "Crème BRÛLÉE, Straße", []string{" crème ", " brûlée ", " straße "}},
		{"invalid utf-8 separates", tokenConfig{WordNGrams: 1}, "ab\xffcd", []string{" ab ", " cd "}},
		{"char n-grams", tokenConfig{WordNGrams: 1, CharMin: 2, CharMax: 3}, "ab", []string{" ab ", "<a", "ab", "b>", "<ab", "ab>"}},
		{"char n-grams are per word", tokenConfig{WordNGrams: 1, CharMin: 4, CharMax: 4}, "ab cd", []string{" ab ", " cd ", "<ab>", "<cd>"}},
		{"char n-grams count runes", tokenConfig{WordNGrams: 1, CharMin: 3, CharMax: 3}, "né", []string{" né ", "<né", "né>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tokeniser{tt.cfg}.Tokenise(tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Tokenise(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("é", MaxTextBytes) // 2 bytes per rune
	got := truncate(long+"x", MaxTextBytes)
	if len(got) > MaxTextBytes || !utf8.ValidString(got) {
		t.Fatalf("truncate: len %d valid %v", len(got), utf8.ValidString(got))
	}
	// a feature beyond the limit is not seen
	text := strings.Repeat("a ", MaxTextBytes/2) + "zebra"
	if slices.Contains(tokeniser{tokenConfig{WordNGrams: 1}}.Tokenise(text), " zebra ") {
		t.Error("word beyond MaxTextBytes was tokenised")
	}
}

// nlpVectors computes the feature vectors of texts through the nlp
// package: CountVectoriser.Transform with our tokeniser and the fitted
// vocabulary, sublinear tf, TfidfTransformer.Transform with the fitted IDF,
// block-wise L2 normalization. It returns one sparse vector per text.
func nlpVectors(t *testing.T, v *vectorizer, texts []string) []map[int32]float64 {
	t.Helper()
	vocab := make(map[string]int, len(v.terms))
	for i, term := range v.terms {
		vocab[term] = i
	}
	cv := &nlp.CountVectoriser{Vocabulary: vocab, Tokeniser: tokeniser{v.cfg}}
	m, err := cv.Transform(texts...)
	if err != nil {
		t.Fatal(err)
	}
	counts := m.(*sparse.DOK).ToCSR()
	raw := counts.RawMatrix()
	for i, c := range raw.Data {
		raw.Data[i] = 1 + math.Log(c)
	}
	// nlp's IDF weights are ours minus the smoothing one
	w := make([]float64, len(v.idf))
	for i, x := range v.idf {
		w[i] = x - 1
	}
	var buf bytes.Buffer
	if _, err := sparse.NewDIA(len(w), len(w), w).MarshalBinaryTo(&buf); err != nil {
		t.Fatal(err)
	}
	tf := nlp.NewTfidfTransformer()
	if err := tf.Load(&buf); err != nil {
		t.Fatal(err)
	}
	weighted, err := tf.Transform(counts)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[int32]float64, len(texts))
	for d := range out {
		out[d] = map[int32]float64{}
	}
	wr := weighted.(*sparse.CSR).RawMatrix()
	for f := range len(v.terms) {
		for k := wr.Indptr[f]; k < wr.Indptr[f+1]; k++ {
			out[wr.Ind[k]][int32(f)] += wr.Data[k]
		}
		for k := raw.Indptr[f]; k < raw.Indptr[f+1]; k++ {
			out[raw.Ind[k]][int32(f)] += raw.Data[k] // the +1 of the smoothed IDF
		}
	}
	for _, vec := range out {
		var ssw, ssc float64
		for f, x := range vec {
			if f < v.nWords {
				ssw += x * x
			} else {
				ssc += x * x
			}
		}
		for f := range vec {
			ss, other := ssc, ssw
			if f < v.nWords {
				ss, other = ssw, ssc
			}
			if ss > 0 {
				if other > 0 {
					ss *= 2
				}
				vec[f] /= math.Sqrt(ss)
			}
		}
	}
	return out
}

// checkSamePath asserts that the fast path and the nlp path agree.
func checkSamePath(t *testing.T, v *vectorizer, texts []string) {
	t.Helper()
	ref := nlpVectors(t, v, texts)
	s := newScratch()
	for d, text := range texts {
		v.vector(text, s)
		got := map[int32]float64{}
		for k, f := range s.idx {
			got[f] = s.cnt[k]
		}
		for f, x := range ref[d] {
			if math.Abs(got[f]-x) > 1e-9 {
				t.Fatalf("text %d %q feature %q: fast %v, nlp %v", d, text, v.terms[f], got[f], x)
			}
		}
		for f, x := range got {
			if math.Abs(ref[d][f]-x) > 1e-9 {
				t.Fatalf("text %d %q feature %q: fast %v, nlp %v", d, text, v.terms[f], x, ref[d][f])
			}
		}
	}
}

func TestVectorizer_SameAsNLP(t *testing.T) {
	train := []Example{
		{"I'm hungry, what should I eat?", []string{"hungry"}},
		{"so hungry right now", []string{"hungry"}},
		{"I feel sad and tired", []string{"sad"}},
		{"feeling sad, want comfort food", []string{"sad"}},
		{"Crème brûlée for dessert?", []string{"dessert"}},
		{"dessert dessert dessert!", []string{"dessert"}},
	}
	test := []string{"hungry and sad", "DESSERT please", "", "unknown words only", "crème", "sad sad sad hungry", "ab\xffcd"}
	for _, opts := range []*TrainerOptions{nil, {NoCharNGrams: true}, {CharMin: 1, CharMax: 3, MinDF: 1, WordNGrams: 3}} {
		c, err := NewTrainer(opts).Train(context.Background(), train, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkSamePath(t, &c.vec, append(test, texts(train)...))
	}
}

func TestVectorizer_SameAsNLP_CLINC150(t *testing.T) {
	train := clinc(t, "train")
	test := clinc(t, "test")
	if testing.Short() || raceEnabled {
		test = test[:500]
	}
	def := (*TrainerOptions)(nil).withDefaults()
	for _, tc := range []struct {
		cfg   tokenConfig
		minDF int
	}{
		{def.tokens(), def.MinDF}, // the defaults
		{tokenConfig{WordNGrams: 2, CharMin: 2, CharMax: 5}, 2},
	} {
		vec, _ := buildFeatures(texts(train), tc.cfg, tc.minDF, 2)
		checkSamePath(t, vec, texts(test))
	}
}

func texts(data []Example) []string {
	out := make([]string, len(data))
	for i, ex := range data {
		out[i] = ex.Text
	}
	return out
}

// TestBuildFeatures_Blocks checks that the training matrix does not depend
// on how the counting workers' rows fall into blocks or on the number of
// workers: tiny blocks (most rows start a new one, some rows are longer
// than a block) give the same matrix as one block per worker.
func TestBuildFeatures_Blocks(t *testing.T) {
	var texts []string
	for _, ex := range append(toy(), synthetic(37, 30, 1)...) { // > 1,000 texts: up to 3 counting workers
		texts = append(texts, ex.Text)
	}
	texts = append(texts, strings.Repeat("hungry sad happy days ", 30))
	cfg := tokenConfig{WordNGrams: 2, CharMin: 3, CharMax: 4}
	_, want := buildFeatures(texts, cfg, 2, 1)
	defer func(b int) { countBlock = b }(countBlock)
	for _, b := range []int{1, 7, 100} {
		countBlock = b
		for _, workers := range []int{1, 2, 3} {
			_, got := buildFeatures(texts, cfg, 2, workers)
			if !slices.Equal(got.ptr, want.ptr) || !slices.Equal(got.idx, want.idx) || !slices.Equal(got.val, want.val) {
				t.Errorf("block %d, %d workers: matrix differs", b, workers)
			}
		}
	}
}

// TestNormalize_CharPart checks the character part of normalize against
// building it byte by byte from the word part.
func TestNormalize_CharPart(t *testing.T) {
	texts := []string{"", " ", "a", "I'm so HUNGRY!!", "don't 'quoted' x", "Crème brûlée, s'il vous plaît",
		"日本語 テキスト", "a  b\\tc", "\xff\xfeab cd\xff", strings.Repeat("word ", 200)}
	for _, ex := range synthetic(37, 3, 9) {
		texts = append(texts, ex.Text)
	}
	for _, text := range texts {
		words, wordEnd := normalize(nil, text, false)
		want := append([]byte(nil), words...)
		if len(words) > 1 {
			for i := 1; i < wordEnd; i++ {
				if words[i-1] == ' ' {
					want = append(want, '<')
				}
				if words[i] == ' ' {
					want = append(want, '>')
				} else {
					want = append(want, words[i])
				}
			}
		}
		got, gotEnd := normalize(make([]byte, 3, 5), text, true)
		if string(got) != string(want) || gotEnd != wordEnd {
			t.Errorf("normalize(%q) = %q (word part ends at %d), want %q (%d)", text, got, gotEnd, want, wordEnd)
		}
	}
}

// TestFeatures_FirstSeenOrder checks the fast path against the tokeniser's
// spans looked up in the vocabulary map: the same known features, in order
// of first occurrence (Predict adds their weight rows in that order), with
// the same counts. The vocabulary has terms of up to 8 bytes, of 9 to 16
// and longer, so every index is used; texts repeat features and some have
// multi-byte runes; the feature set's stamp wraps around on the way.
func TestFeatures_FirstSeenOrder(t *testing.T) {
	var train []string
	for _, ex := range append(toy(), synthetic(37, 10, 3)...) {
		train = append(train, ex.Text)
	}
	train = append(train, "supercalifragilistic expialidocious words", "naïve café crème brûlée déjà vu",
		"antidisestablishmentarianism is long", "日本語のテキスト 日本語")
	texts := append(slices.Clone(train), "", "x", "supercalifragilistic supercalifragilistic expialidocious",
		"café café naïve crème", "words words words is long is long", strings.Repeat("日本語 ", 20))
	// character n-grams up to 8 bytes take the packed path inline; longer
	// ones the general one
	for _, cfg := range []tokenConfig{{WordNGrams: 3, CharMin: 2, CharMax: 6}, {WordNGrams: 1, CharMin: 3, CharMax: 11}} {
		checkFirstSeen(t, cfg, train, texts)
	}
}

func checkFirstSeen(t *testing.T, cfg tokenConfig, train, texts []string) {
	t.Helper()
	v, _ := buildFeatures(train, cfg, 1, 1)
	index := map[string]int32{}
	for i, term := range v.terms {
		index[term] = int32(i)
	}
	byLen := map[string]int{}
	s := newScratch()
	for i, text := range texts {
		if i == 5 {
			s.stamp = math.MaxUint32 // the next text wraps the set's stamp
		}
		buf, wordEnd := normalize(nil, text, true)
		_, sp := spans(buf, wordEnd, cfg, nil, nil)
		var want []int32
		count := map[int32]float64{}
		for k := 0; k < len(sp); k += 2 {
			term := string(buf[sp[k]:sp[k+1]])
			f, ok := index[term]
			if g, gok := v.lookup(term); g != f || gok != ok {
				t.Errorf("lookup(%q) = %d %v, want %d %v", term, g, gok, f, ok)
			}
			if !ok {
				continue
			}
			switch {
			case len(term) <= 8:
				byLen["short"]++
			case len(term) <= 16:
				byLen["medium"]++
			default:
				byLen["long"]++
			}
			if count[f] == 0 {
				want = append(want, f)
			}
			count[f]++
		}
		v.features(text, s)
		if !slices.Equal(s.idx, want) {
			t.Errorf("%+v: features(%q) = %v, want %v", cfg, text, s.idx, want)
			continue
		}
		for k, f := range s.idx {
			if s.cnt[k] != count[f] {
				t.Errorf("features(%q): count of %q = %v, want %v", text, v.terms[f], s.cnt[k], count[f])
			}
		}
	}
	if byLen["short"] == 0 || byLen["medium"] == 0 || byLen["long"] == 0 {
		t.Errorf("%+v: terms found by length: %v; want every index used", cfg, byLen)
	}
}
