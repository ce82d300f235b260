package model

import (
	"bytes"
	"testing"
)

func TestTrainer_Variants(t *testing.T) {
	data := noisy(300, 8, false)
	variants := []Variant{{Name: "word-only", NoCharNGrams: true}, {L2: 1e-4}, {Name: "char2-5", CharMin: 2, CharMax: 5}}
	c := mustTrain(t, &TrainerOptions{Variants: variants, Workers: 1}, data)
	in := c.Info()
	if len(in.Candidates) != 4 {
		t.Fatalf("candidates %+v", in.Candidates)
	}
	names := []string{"base", "word-only", "variant 2", "char2-5"}
	chosen := -1
	for i, cd := range in.Candidates {
		if cd.Name != names[i] || cd.N == 0 || !(cd.Score > 0 && cd.Score <= 1) || !(cd.NLL > 0) {
			t.Errorf("candidate %d: %+v", i, cd)
		}
		if cd.Chosen {
			if chosen >= 0 {
				t.Fatal("two candidates chosen")
			}
			chosen = i
		}
	}
	if chosen < 0 {
		t.Fatal("no candidate chosen")
	}
	for _, cd := range in.Candidates {
		if cd.Score > in.Candidates[chosen].Score {
			t.Errorf("chose %s (%.4f) over %s (%.4f)", in.Candidates[chosen].Name, in.Candidates[chosen].Score, cd.Name, cd.Score)
		}
	}
	// the final model has the chosen configuration and a calibration
	cf := in.Config
	want := (*TrainerOptions)(nil).withDefaults()
	if chosen > 0 {
		v := variants[chosen-1]
		want = want.with(v)
	}
	if wt := want.tokens(); cf.CharMin != wt.CharMin || cf.CharMax != wt.CharMax || cf.L2 != want.L2 {
		t.Errorf("final config %+v, chosen %s", cf, in.Candidates[chosen].Name)
	}
	if in.Calibration.Method != "temperature" {
		t.Errorf("calibration %+v", in.Calibration)
	}

	// same data, options and seed: the same file, whatever the workers
	enc := func(workers int, seed uint64) []byte {
		var buf bytes.Buffer
		if err := mustTrain(t, &TrainerOptions{Variants: variants, Workers: workers, Seed: seed}, data).Encode(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a := encoded(t, c)
	if !bytes.Equal(a, enc(3, 0)) {
		t.Error("same data, options and seed gave different files")
	}
	if bytes.Equal(a, enc(1, 5)) {
		t.Error("a different seed gave the same file")
	}
}

func TestTrainer_VariantsMulti(t *testing.T) {
	data := noisy(200, 9, true)
	c := mustTrain(t, &TrainerOptions{Mode: ModeMulti, TuneThreshold: true, Variants: []Variant{{Name: "word-only", NoCharNGrams: true}}}, data)
	in := c.Info()
	if len(in.Candidates) != 2 || in.Calibration.Method != "platt" || !(in.Config.Threshold > 0 && in.Config.Threshold < 1) {
		t.Errorf("info %+v", in)
	}
}
