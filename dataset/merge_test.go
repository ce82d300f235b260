package dataset_test

import (
	"slices"
	"testing"
	"time"

	"moodfood/dataset"
)

func smp(text string, src dataset.Source, ts int, labels ...string) dataset.Sample {
	return dataset.Sample{Text: text, Labels: labels, Source: src, Timestamp: t0.Add(time.Duration(ts) * time.Second)}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name           string
		base, old, new []dataset.Sample
		opts           *dataset.MergeOptions
		want           []string // text|label of the result, in order
		conflicts      int
		dups           int
	}{
		{name: "BasePreserved",
			base: []dataset.Sample{smp("a", "", 0, "x"), smp("b", dataset.SourceHuman, 0, "y")},
			want: []string{"a|x", "b|y"}},
		{name: "LLMDoesNotReplaceSeed",
			base: []dataset.Sample{smp("Hungry!", "", 0, "x")},
			new:  []dataset.Sample{smp("hungry", dataset.SourceLLM, 1, "y")},
			want: []string{"Hungry!|x"}, conflicts: 1, dups: 1},
		{name: "HumanReplacesSeed",
			base: []dataset.Sample{smp("hungry", dataset.SourceSeed, 0, "x")},
			new:  []dataset.Sample{smp("HUNGRY", dataset.SourceHuman, 1, "y")},
			want: []string{"HUNGRY|y"}, conflicts: 1, dups: 1},
		{name: "LLMReplacesFeedbackBase",
			base: []dataset.Sample{smp("soup", dataset.SourceFeedback, 0, "x")},
			new:  []dataset.Sample{smp("soup", dataset.SourceLLM, 1, "x")},
			want: []string{"soup|x"}, dups: 1},
		{name: "NewestWinsWithinNew",
			old:  []dataset.Sample{smp("pizza", dataset.SourceLLM, 5, "a")},
			new:  []dataset.Sample{smp("Pizza ", dataset.SourceLLM, 3, "b"), smp("pizza.", dataset.SourceLLM, 9, "c")},
			want: []string{"pizza.|c"}, conflicts: 2, dups: 2},
		{name: "SameLabelsNoConflict",
			new:  []dataset.Sample{smp("x y", dataset.SourceLLM, 1, "a", "b"), smp("X  Y", dataset.SourceLLM, 2, "b", "a")},
			want: []string{"X  Y|b"}, dups: 1},
		{name: "AddedSortedByTime",
			base: []dataset.Sample{smp("z", "", 0, "z")},
			new:  []dataset.Sample{smp("late", dataset.SourceLLM, 9, "l"), smp("early", dataset.SourceLLM, 1, "e")},
			want: []string{"z|z", "early|e", "late|l"}},
		{name: "Exclude",
			base: []dataset.Sample{smp("gold", "", 0, "g"), smp("keep", "", 0, "k")},
			new:  []dataset.Sample{smp("GOLD!", dataset.SourceHuman, 1, "g")},
			opts: &dataset.MergeOptions{Exclude: []dataset.Sample{{Text: "gold"}}},
			want: []string{"keep|k"}},
		{name: "EmptyKeyDropped",
			new:  []dataset.Sample{smp("?!", dataset.SourceLLM, 1, "a")},
			want: nil},
		{name: "NoIntentKept",
			new:  []dataset.Sample{smp("nothing", dataset.SourceLLM, 1)},
			want: []string{"nothing|"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st := dataset.Merge(tt.base, tt.old, tt.new, tt.opts)
			var got []string
			for _, s := range out {
				l := ""
				if len(s.Labels) > 0 {
					l = s.Labels[0]
				}
				got = append(got, s.Text+"|"+l)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if st.Conflicts != tt.conflicts || len(st.ConflictList) != tt.conflicts {
				t.Errorf("conflicts %d (%d listed), want %d", st.Conflicts, len(st.ConflictList), tt.conflicts)
			}
			if st.Duplicates != tt.dups {
				t.Errorf("duplicates %d, want %d", st.Duplicates, tt.dups)
			}
			if st.Total != len(out) || st.Base+st.New != st.Total {
				t.Errorf("stats %+v", st)
			}
			again, _ := dataset.Merge(tt.base, tt.old, tt.new, tt.opts)
			if !slices.EqualFunc(out, again, func(a, b dataset.Sample) bool { return a.Text == b.Text }) {
				t.Errorf("not deterministic")
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"I'm HUNGRY!!", "i'm hungry"},
		{"  i'm   hungry ", "i'm hungry"},
		{"line\u2028break\nand\ttab", "line break and tab"},
		{"ΣΊΣΥΦΟΣ", "σίσυφοσ"},
		{"Straße", "strasse"}, // full case folding (NFKC_Casefold)
		{"KELVIN \u212a", "kelvin k"},
		{"¿Qué tal?", "qué tal"},
		{"...", ""},
		{"\xff bad", "bad"}, {"a\xffb", "a\ufffdb"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := dataset.Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDedupe(t *testing.T) {
	in := []dataset.Sample{smp("a", "", 1, "x"), smp("A!", "", 3, "y"), smp("b", "", 0, "z"), smp("a ", "", 2, "w")}
	out := dataset.Dedupe(in)
	if len(out) != 2 || out[0].Labels[0] != "y" || out[1].Text != "b" {
		t.Fatalf("Dedupe = %v", out)
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("I'm HUNGRY!!")
	f.Add("ǅ ǆ Ǆ ſ ẞ ΐ")
	f.Fuzz(func(t *testing.T, s string) {
		n := dataset.Normalize(s)
		if n2 := dataset.Normalize(n); n2 != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, n2)
		}
		d := dataset.Dedupe([]dataset.Sample{{Text: s}, {Text: n}})
		if n != "" && len(d) != 1 {
			t.Fatalf("text and its key do not dedupe: %q", s)
		}
	})
}
