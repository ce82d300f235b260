package model

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// noisy returns n synthetic single-label examples (or multi-label ones) that
// a linear model cannot fit exactly: 8 labels with 12 own words each, texts
// of 5 words that are the label's own with probability 0.5 and drawn from
// 60 shared words otherwise, and 15 % of the labels replaced by a random
// one. Trained with the margin, the raw model is over-confident on new texts.
func noisy(n int, seed uint64, multi bool) []Example {
	rng := rand.New(rand.NewPCG(seed, 99))
	word := func(l, i int) string { return fmt.Sprintf("w%c%c", 'a'+rune(l), 'a'+rune(i)) }
	out := make([]Example, n)
	for i := range out {
		l := rng.IntN(8)
		ws := make([]string, 5)
		for j := range ws {
			if rng.Float64() < 0.5 {
				ws[j] = word(l, rng.IntN(12))
			} else {
				ws[j] = fmt.Sprintf("s%02d", rng.IntN(60))
			}
		}
		if rng.Float64() < 0.15 {
			l = rng.IntN(8)
		}
		labels := []string{fmt.Sprintf("L%d", l)}
		if multi && rng.Float64() < 0.3 {
			m := rng.IntN(8)
			ws = append(ws, word(m, rng.IntN(12)))
			if m != l {
				labels = append(labels, fmt.Sprintf("L%d", m))
			}
		}
		out[i] = Example{Text: strings.Join(ws, " "), Labels: labels}
	}
	return out
}

// nll is the mean negative log-likelihood of the true label (single-label
// data; the classifier must rank all labels).
func nll(t *testing.T, c *Classifier, data []Example) float64 {
	t.Helper()
	var sum float64
	for _, ex := range data {
		p := c.Predict(ex.Text)
		i := slices.IndexFunc(p.Ranked, func(s Score) bool { return s.Label == ex.Labels[0] })
		if i < 0 {
			t.Fatalf("label %s not ranked", ex.Labels[0])
		}
		sum -= math.Log(max(p.Ranked[i].Prob, 1e-300))
	}
	return sum / float64(len(data))
}

// pairNLL is the mean binary negative log-likelihood over every (example,
// label) pair of multi-label data.
func pairNLL(t *testing.T, c *Classifier, data []Example) float64 {
	t.Helper()
	var sum float64
	n := 0
	for _, ex := range data {
		for _, s := range c.Predict(ex.Text).Ranked {
			p := s.Prob
			if !slices.Contains(ex.Labels, s.Label) {
				p = 1 - p
			}
			sum -= math.Log(max(p, 1e-300))
			n++
		}
	}
	return sum / float64(n)
}

func TestTrainer_Calibration(t *testing.T) {
	train, test := noisy(800, 1, false), noisy(1000, 2, false)
	raw := mustTrain(t, &TrainerOptions{TopK: -1, NoCalibration: true}, train)
	cal := mustTrain(t, &TrainerOptions{TopK: -1}, train)
	ci := cal.Info().Calibration
	if ci.Method != "temperature" || ci.N < calMinFit || ci.Models < 1 || !(ci.Scale > 0) {
		t.Fatalf("calibration %+v", ci)
	}
	if m := raw.Info().Calibration.Method; m != "none" {
		t.Errorf("NoCalibration gave method %q", m)
	}
	// calibration only rescales: the same labels win
	for _, ex := range test {
		if a, b := raw.Predict(ex.Text).Label, cal.Predict(ex.Text).Label; a != b {
			t.Fatalf("%q: %s calibrated, %s raw", ex.Text, b, a)
		}
	}
	nRaw, nCal := nll(t, raw, test), nll(t, cal, test)
	cr, okr := Confidences(raw, test, 1)
	cc, okc := Confidences(cal, test, 1)
	eRaw, eCal := ECE(cr, okr, 0), ECE(cc, okc, 0)
	t.Logf("held-out NLL %.4f -> %.4f, ECE %.4f -> %.4f (%+v)", nRaw, nCal, eRaw, eCal, ci)
	if !(nCal < nRaw-0.02) {
		t.Errorf("held-out NLL %.4f calibrated, %.4f raw: calibration must lower it", nCal, nRaw)
	}
	if !(eCal < 0.75*eRaw) {
		t.Errorf("held-out ECE %.4f calibrated, %.4f raw: calibration must cut it by a quarter or more", eCal, eRaw)
	}
}

func TestTrainer_CalibrationMulti(t *testing.T) {
	train, test := noisy(800, 3, true), noisy(1000, 4, true)
	raw := mustTrain(t, &TrainerOptions{TopK: -1, NoCalibration: true, Mode: ModeMulti}, train)
	cal := mustTrain(t, &TrainerOptions{TopK: -1, Mode: ModeMulti}, train)
	ci := cal.Info().Calibration
	if ci.Method != "platt" || ci.N < calMinFit || len(ci.LabelBias) != len(cal.Labels()) {
		t.Fatalf("calibration %+v", ci)
	}
	// Info holds copies
	before := fmt.Sprint(cal.Predict(test[0].Text))
	cal.Info().Calibration.LabelBias[0] += 5
	if after := fmt.Sprint(cal.Predict(test[0].Text)); after != before {
		t.Errorf("changing Info's label biases changed Predict: %s -> %s", before, after)
	}
	// round trip, and a wrong number of label biases is corrupt
	file := encoded(t, cal)
	d, err := Decode(bytes.NewReader(file))
	if err != nil || fmt.Sprint(d.Info().Calibration) != fmt.Sprint(ci) {
		t.Fatalf("decode: %v, calibration %+v", err, d.Info().Calibration)
	}
	short := rewrite(t, file, func(h map[string]any) {
		c := h["info"].(map[string]any)["calibration"].(map[string]any)
		c["label_bias"] = c["label_bias"].([]any)[1:]
	})
	if _, err := Decode(bytes.NewReader(short)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("label biases of the wrong length: %v", err)
	}
	nRaw, nCal := pairNLL(t, raw, test), pairNLL(t, cal, test)
	t.Logf("held-out pair NLL %.4f -> %.4f (%+v)", nRaw, nCal, ci)
	if !(nCal < nRaw-0.01) {
		t.Errorf("held-out pair NLL %.4f calibrated, %.4f raw: calibration must lower it", nCal, nRaw)
	}
	// the tuned threshold comes from the same held-out predictions
	tuned := mustTrain(t, &TrainerOptions{Mode: ModeMulti, TuneThreshold: true}, train)
	if th := tuned.Info().Config.Threshold; th <= 0 || th >= 1 {
		t.Errorf("tuned threshold %v", th)
	}
}

// TestTrainer_CalibrationLarge takes the path for big data sets: no fold
// model, the final model held out from ~calLargeHeldOut examples.
func TestTrainer_CalibrationLarge(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("trains on 100,000+ examples: skipped under -short and -race")
	}
	data := noisy(calLarge+5000, 5, false)
	c := mustTrain(t, &TrainerOptions{Epochs: 1}, data)
	in := c.Info()
	ci := in.Calibration
	if ci.Method != "temperature" || ci.Models != 1 || ci.N < calLargeHeldOut/2 || ci.N > calLargeHeldOut*2 {
		t.Fatalf("calibration %+v", ci)
	}
	if in.NTrain+ci.N != len(data) {
		t.Errorf("trained on %d and calibrated on %d of %d examples", in.NTrain, ci.N, len(data))
	}
}

func TestTrainer_CalibrationTiny(t *testing.T) {
	// too little held-out data to fit anything: the identity
	d := toy()
	c := mustTrain(t, nil, append(d[:3:3], d[8:11]...))
	if ci := c.Info().Calibration; ci.Method != "none" || ci.Scale != 1 {
		t.Errorf("calibration %+v", ci)
	}
}

func TestEncodeDecode_Calibration(t *testing.T) {
	c := mustTrain(t, &TrainerOptions{TopK: -1}, noisy(400, 6, false))
	d, err := Decode(bytes.NewReader(encoded(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := c.Info().Calibration, d.Info().Calibration; fmt.Sprint(a) != fmt.Sprint(b) || a.Method != "temperature" {
		t.Fatalf("calibration %+v after decode, %+v before", b, a)
	}
	for _, ex := range noisy(50, 7, false) {
		if a, b := c.Predict(ex.Text), d.Predict(ex.Text); fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("Predict(%q): %+v after decode, %+v before", ex.Text, b, a)
		}
	}
	raw := encoded(t, c)
	for name, edit := range map[string]func(h map[string]any){
		"method":   func(h map[string]any) { cal(h)["method"] = "magic" },
		"scale":    func(h map[string]any) { cal(h)["scale"] = -1.0 },
		"no scale": func(h map[string]any) { delete(cal(h), "scale") },
		"mix":      func(h map[string]any) { cal(h)["mix"] = 1.5 },
		"bias":     func(h map[string]any) { cal(h)["bias"] = 1e9 },
		"label biases on a single-label model": func(h map[string]any) {
			cal(h)["label_bias"] = make([]any, len(c.Labels()))
		},
	} {
		if _, err := Decode(bytes.NewReader(rewrite(t, raw, edit))); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Decode error %v, want ErrCorrupt", name, err)
		}
	}
}

func cal(h map[string]any) map[string]any {
	return h["info"].(map[string]any)["calibration"].(map[string]any)
}

// TestDecode_FormatV1 reads files written by format version 1 (before
// calibration; testdata made by that version's Encode): they load with the
// identity calibration and predict what they predicted then.
func TestDecode_FormatV1(t *testing.T) {
	for _, tc := range []struct {
		file, text, label string
		conf              float64
		labels            []string
	}{
		{"format_v1.model", "cancel the spa booking", "hungry", 0.999988046922, []string{"hungry"}},
		{"format_v1_multi.model", "I feel sad", "spa", 0.999981727334, []string{"booking", "cancel", "spa"}},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		c, err := Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		in := c.Info()
		if in.FormatVersion != 1 || in.Calibration.Method != "none" || in.Calibration.Scale != 1 {
			t.Errorf("%s: format %d, calibration %+v", tc.file, in.FormatVersion, in.Calibration)
		}
		p := c.Predict(tc.text)
		if p.Label != tc.label || math.Abs(p.Confidence-tc.conf) > 1e-9 || !slices.Equal(p.Labels, tc.labels) {
			t.Errorf("%s: Predict(%q) = %+v", tc.file, tc.text, p)
		}
		// re-encoded, it is a current-version file with the same predictions
		d, err := Decode(bytes.NewReader(encoded(t, c)))
		if err != nil {
			t.Fatal(err)
		}
		if d.Info().FormatVersion != formatVersion || fmt.Sprint(d.Predict(tc.text)) != fmt.Sprint(p) {
			t.Errorf("%s: re-encoded as version %d predicts %+v", tc.file, d.Info().FormatVersion, d.Predict(tc.text))
		}
	}
}

func TestReliability(t *testing.T) {
	conf := []float64{0.95, 0.95, 0.95, 0.95, 0.55, 0.55, 0.05, 1}
	ok := []bool{true, true, true, false, true, false, false, true}
	bins := Reliability(conf, ok, 10)
	if len(bins) != 10 || bins[9].N != 5 || bins[5].N != 2 || bins[0].N != 1 {
		t.Fatalf("bins %+v", bins)
	}
	if math.Abs(bins[9].Accuracy-0.8) > 1e-12 || math.Abs(bins[9].Confidence-0.96) > 1e-12 || bins[5].Accuracy != 0.5 {
		t.Errorf("bins %+v", bins)
	}
	// |0.96-0.8|*5 + |0.55-0.5|*2 + |0.05-0|*1, over 8
	want := (0.16*5 + 0.05*2 + 0.05) / 8
	if got := ECE(conf, ok, 10); math.Abs(got-want) > 1e-12 {
		t.Errorf("ECE = %v, want %v", got, want)
	}
	if len(Reliability(nil, nil, 0)) != DefaultBins || ECE(nil, nil, 0) != 0 {
		t.Error("empty input")
	}
}

func TestRiskCoverage(t *testing.T) {
	conf := []float64{0.9, 0.5, 0.9, 0.7, 0.2}
	ok := []bool{true, false, true, false, true}
	got := RiskCoverage(conf, ok)
	want := []CoveragePoint{
		{Threshold: 0.9, Coverage: 0.4, Precision: 1, Answered: 2, Correct: 2},
		{Threshold: 0.7, Coverage: 0.6, Precision: 2.0 / 3, Answered: 3, Correct: 2},
		{Threshold: 0.5, Coverage: 0.8, Precision: 0.5, Answered: 4, Correct: 2},
		{Threshold: 0.2, Coverage: 1, Precision: 0.6, Answered: 5, Correct: 3},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("RiskCoverage =\n%+v\nwant\n%+v", got, want)
	}
	if len(RiskCoverage(nil, nil)) != 0 {
		t.Error("empty input gave points")
	}
}
