package dataset_test

import (
	"testing"

	"moodfood/dataset"
)

// Texts that differ only in Unicode representation dedupe to one sample:
// composed and decomposed accents, full-width letters, compatibility
// ligatures and full case folding.
func TestDedupe_UnicodeVariants(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"Café au lait", "Cafe\u0301 au lait"},
		{"ｐｉｚｚａ tonight", "pizza tonight"},
		{"ＰＩＺＺＡ!", "pizza"},
		{"ﬁsh and chips", "fish and chips"},
		{"STRASSE essen", "straße essen"},
		{"Ångström", "A\u030angstro\u0308m"},
		{"①", "1"},
	} {
		if ka, kb := dataset.Normalize(tt.a), dataset.Normalize(tt.b); ka != kb {
			t.Errorf("Normalize(%q) = %q, Normalize(%q) = %q; want one key", tt.a, ka, tt.b, kb)
		}
		if d := dataset.Dedupe([]dataset.Sample{{Text: tt.a, Labels: []string{"x"}}, {Text: tt.b, Labels: []string{"x"}}}); len(d) != 1 {
			t.Errorf("Dedupe(%q, %q) kept %d samples", tt.a, tt.b, len(d))
		}
	}
}

// SplitKey is frozen: these are the keys the hold-out split hashed before
// Normalize learned NFKC, so an existing root's split does not move.
func TestSplitKey_Frozen(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"I'm HUNGRY!!", "i'm hungry"},
		{"  Café   au lait ", "café au lait"},
		{"Cafe\u0301", "cafe\u0301"},
		{"ｐｉｚｚａ", "ｐｉｚｚａ"},
		{"ＰＩＺＺＡ", "ｐｉｚｚａ"},
		{"STRASSE ẞ", "strasse ß"},
		{"ﬁsh", "ﬁsh"},
	} {
		if got := dataset.SplitKey(tt.text); got != tt.want {
			t.Errorf("SplitKey(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// BenchmarkNormalize compares the dedupe key (NFKC_Casefold) with the frozen
// split key (the normalization before NFKC) on ASCII and non-ASCII text.
func BenchmarkNormalize(b *testing.B) {
	for _, text := range []struct{ name, s string }{
		{"ASCII", "Something WARM for a rainy evening, please!"},
		{"NonASCII", "Quelque chose de CHAUD pour un soir pluvieux, s'il vous plaît ☔"},
	} {
		b.Run(text.name+"/Normalize", func(b *testing.B) {
			for b.Loop() {
				dataset.Normalize(text.s)
			}
		})
		b.Run(text.name+"/SplitKey", func(b *testing.B) {
			for b.Loop() {
				dataset.SplitKey(text.s)
			}
		})
	}
}
