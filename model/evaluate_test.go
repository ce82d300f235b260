package model

import (
	"math"
	"slices"
	"testing"
)

// fixed is a Predictor that answers from a table.
type fixed map[string]Prediction

func (f fixed) Predict(text string) Prediction { return f[text] }

func pred(label string, conf float64) Prediction {
	return Prediction{Label: label, Confidence: conf, Labels: []string{label}}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestEvaluate_SingleLabel(t *testing.T) {
	p := fixed{
		"a1": pred("a", 0.9), "a2": pred("a", 0.8), "a3": pred("b", 0.6),
		"b1": pred("b", 0.7), "b2": pred("a", 0.55),
		"o1": pred("a", 0.3), "o2": pred("oos", 0.9),
	}
	test := []Example{
		{"a1", []string{"a"}}, {"a2", []string{"a"}}, {"a3", []string{"a"}},
		{"b1", []string{"b"}}, {"b2", []string{"b"}},
		{"o1", []string{"oos"}}, {"o2", []string{"oos"}},
	}
	r := Evaluate(p, test, &EvalOptions{Workers: 1})
	if r.N != 7 || r.MultiLabel || !near(r.Accuracy, 4.0/7) || !near(r.MicroF1, 4.0/7) || r.OOS {
		t.Fatalf("report %+v", r)
	}
	// a: tp 2 fp 2 fn 1 -> P 0.5 R 2/3; b: tp 1 fp 1 fn 1; oos: tp 1 fp 0 fn 1
	wantA := LabelReport{Label: "a", Precision: 0.5, Recall: 2.0 / 3, F1: 4.0 / 7, Support: 3}
	if got := r.PerLabel[0]; got.Label != "a" || !near(got.Precision, wantA.Precision) || !near(got.Recall, wantA.Recall) ||
		!near(got.F1, wantA.F1) || got.Support != 3 {
		t.Errorf("PerLabel[a] = %+v, want %+v", got, wantA)
	}
	if !near(r.MacroF1, (4.0/7+0.5+2.0/3)/3) {
		t.Errorf("MacroF1 = %v", r.MacroF1)
	}
	wantConf := []Confusion{{"a", "b", 1}, {"b", "a", 1}, {"oos", "a", 1}}
	if !slices.Equal(r.Confused, wantConf) {
		t.Errorf("Confused = %+v, want %+v", r.Confused, wantConf)
	}
	// ECE: bins 0.3(wrong), 0.55(wrong), 0.6(wrong), 0.7(ok), 0.8(ok), 0.9 x2 (ok)
	wantECE := (0.3 + 0.55 + 0.6 + 0.3 + 0.2 + 2*0.1) / 7
	if !near(r.ECE, wantECE) {
		t.Errorf("ECE = %v, want %v", r.ECE, wantECE)
	}

	t.Run("OOSLabel", func(t *testing.T) {
		r := Evaluate(p, test, &EvalOptions{OOSLabel: "oos"})
		if !r.OOS || !near(r.InScopeAccuracy, 3.0/5) || !near(r.OOSRecall, 0.5) {
			t.Errorf("in-scope %v oos recall %v", r.InScopeAccuracy, r.OOSRecall)
		}
		m := r.Metrics()
		if m["in_scope_accuracy"] != r.InScopeAccuracy || m["oos_recall"] != r.OOSRecall || m["accuracy"] != r.Accuracy {
			t.Errorf("Metrics = %v", m)
		}
		if _, ok := m["hamming_loss"]; ok {
			t.Error("single-label Metrics has hamming_loss")
		}
	})
	t.Run("RejectBelow", func(t *testing.T) {
		r := Evaluate(p, test, &EvalOptions{OOSLabel: "oos", RejectBelow: 0.58})
		// rejected: o1 (0.3, right), b2 (0.55, was wrong anyway)
		if r.Rejected != 2 || !near(r.OOSRecall, 1) || !near(r.InScopeAccuracy, 3.0/5) || !near(r.Accuracy, 5.0/7) {
			t.Errorf("report %+v", r)
		}
		if th := TuneReject(p, test, &EvalOptions{OOSLabel: "oos"}, 0); th <= 0.3 || th > 0.55 {
			t.Errorf("TuneReject = %v, want in (0.3, 0.55]", th)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		if r := Evaluate(p, nil, nil); r.N != 0 || r.Accuracy != 0 {
			t.Errorf("report %+v", r)
		}
	})
}

func TestEvaluate_MultiLabel(t *testing.T) {
	p := fixed{
		"x": {Label: "a", Confidence: 0.9, Labels: []string{"a", "b"}},
		"y": {Label: "a", Confidence: 0.6, Labels: []string{"a"}},
		"z": {Label: "c", Confidence: 0.4, Labels: nil},
	}
	test := []Example{{"x", []string{"a", "b"}}, {"y", []string{"b"}}, {"z", nil}}
	r := Evaluate(p, test, nil)
	// decisions: tp a(x) b(x) = 2, fp a(y) = 1, fn b(y) = 1; labels a, b
	if !r.MultiLabel || !near(r.SubsetAccuracy, 2.0/3) || !near(r.Accuracy, r.SubsetAccuracy) ||
		!near(r.MicroF1, 4.0/6) || !near(r.HammingLoss, 2.0/(3*2)) {
		t.Errorf("report %+v", r)
	}
	m := r.Metrics()
	if m["subset_accuracy"] != r.SubsetAccuracy || m["accuracy"] != m["subset_accuracy"] || m["hamming_loss"] != r.HammingLoss {
		t.Errorf("Metrics = %v", m)
	}
}

func TestSplit(t *testing.T) {
	var data []Example
	for i := range 2000 {
		data = append(data, Example{Text: string(rune('a'+i%26)) + " text " + string(rune('A'+i/26)), Labels: []string{"x"}})
	}
	train, hold := Split(data, 0.2, nil)
	if len(train)+len(hold) != len(data) || len(hold) < 300 || len(hold) > 500 {
		t.Fatalf("split %d/%d", len(train), len(hold))
	}
	// stable as data grows: adding data never moves an example
	more := append(slices.Clone(data), Example{Text: "new one", Labels: []string{"x"}})
	_, hold2 := Split(more, 0.2, nil)
	if !slices.EqualFunc(hold, hold2[:len(hold)], func(a, b Example) bool { return a.Text == b.Text }) {
		t.Error("held-out set changed when data grew")
	}
	// case and spacing do not matter with the default key
	if InHoldout(NormalizeKey("Hello   World"), 0.5) != InHoldout(NormalizeKey("hello world"), 0.5) {
		t.Error("default key is not normalized")
	}
	if InHoldout("x", 0) || !InHoldout("x", 1) {
		t.Error("fractions 0 and 1")
	}
}

func TestFingerprint(t *testing.T) {
	a := []Example{{"hi", []string{"x", "y"}}, {"yo", []string{"z"}}}
	b := []Example{{"yo", []string{"z"}}, {"hi", []string{"y", "x"}}}
	c := []Example{{"yo", []string{"z"}}, {"hi", []string{"y"}}}
	if Fingerprint(a) != Fingerprint(b) {
		t.Error("fingerprint depends on order")
	}
	if Fingerprint(a) == Fingerprint(c) || len(Fingerprint(a)) != 64 {
		t.Error("fingerprint ignores labels")
	}
}

// TestEvaluate_Reliability: the reliability bins are the ECE bins, with
// counts, mean confidence and accuracy per bin.
func TestEvaluate_Reliability(t *testing.T) {
	p := fixed{"a1": pred("a", 0.95), "a2": pred("b", 0.91), "a3": pred("a", 0.55), "a4": pred("a", 1)}
	test := []Example{{"a1", []string{"a"}}, {"a2", []string{"a"}}, {"a3", []string{"a"}}, {"a4", []string{"a"}}}
	r := Evaluate(p, test, &EvalOptions{Workers: 1, Bins: 4})
	if len(r.Reliability) != 4 {
		t.Fatalf("%d bins, want 4", len(r.Reliability))
	}
	b2, b3 := r.Reliability[2], r.Reliability[3]
	if b2.N != 1 || !near(b2.Confidence, 0.55) || !near(b2.Accuracy, 1) || !near(b2.Lo, 0.5) || !near(b2.Hi, 0.75) {
		t.Errorf("bin [0.5, 0.75) = %+v", b2)
	}
	if b3.N != 3 || !near(b3.Confidence, (0.95+0.91+1)/3) || !near(b3.Accuracy, 2.0/3) {
		t.Errorf("bin [0.75, 1] = %+v", b3)
	}
	if r.Reliability[0].N != 0 || r.Reliability[0].Accuracy != 0 {
		t.Errorf("empty bin = %+v", r.Reliability[0])
	}
	var ece float64
	for _, b := range r.Reliability {
		ece += float64(b.N) / 4 * math.Abs(b.Confidence-b.Accuracy)
	}
	if !near(ece, r.ECE) {
		t.Errorf("ECE from the bins %v, report %v", ece, r.ECE)
	}
}
