package dataset_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A curated line whose "labels" key is misspelled is not a "no intent"
// sample: it is skipped, counted and named with its file and line, in a
// JSONL file and in a JSON array file alike. An explicit empty list is
// still "no intent".
func TestFileStore_SnapshotRefusesSampleWithoutLabels(t *testing.T) {
	for _, tt := range []struct {
		name, content, at string
	}{
		{"JSONL", `{"text":"rainy day","labels":["weather_rainy"]}
{"text":"nothing to see","labels":[]}
{"text":"pouring rain","label":["weather_rainy"]}
{"text":"no labels at all"}
{"text":"null labels","labels":null}
`, "intent_dataset.jsonl:3"},
		{"Array", `[{"text":"rainy day","labels":["weather_rainy"]},
 {"text":"nothing to see","labels":[]},
 {"text":"pouring rain","label":["weather_rainy"]},
 {"text":"no labels at all"},
 {"text":"null labels","labels":null}]`, "intent_dataset.jsonl:3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, nil)
			path := filepath.Join(s.Root(), "data", "intent_dataset.jsonl")
			os.MkdirAll(filepath.Dir(path), 0o700)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			snap, err := s.Snapshot(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Base) != 2 || len(snap.Base[1].Labels) != 0 || snap.Base[1].Labels == nil {
				t.Fatalf("base = %+v, want the labelled and the explicit no-intent sample", snap.Base)
			}
			if snap.Corrupt != 3 || len(snap.CorruptAt) != 3 || snap.CorruptAt[0] != tt.at {
				t.Fatalf("Corrupt = %d at %v; want 3, first %s", snap.Corrupt, snap.CorruptAt, tt.at)
			}
			if !slices.Equal(snap.CorruptAt[1:], []string{"intent_dataset.jsonl:4", "intent_dataset.jsonl:5"}) {
				t.Fatalf("CorruptAt = %v", snap.CorruptAt)
			}
		})
	}
}
