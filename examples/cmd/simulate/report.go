package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Target is one of the promises with the measured value and the
// verdict.
type Target struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Op     string  `json:"op"` // ">=" or "<="
	Limit  float64 `json:"limit"`
	Met    bool    `json:"met"`
	Detail string  `json:"detail,omitempty"`
}

// Gate tolerance of the default gate (retrain.Gate.MaxAccuracyDrop).
const gateTolerance = 0.01

// checkTargets evaluates the targets that a run of this length can be
// judged on: fallback rate ≥ 40 % in month 1, ≤ 12 % by month 6, ≤ 6 % by
// month 12; ML-route precision ≥ 94 % in every month from month 2 on;
// final test accuracy within 1 point of the reference; and no deployed
// model worse on test than the one before it by more than the gate's
// tolerance. The wall-time target is added by the caller, which knows the
// whole time.
func checkTargets(s *Summary) []Target {
	var ts []Target
	at := func(m int) *Month {
		for i := range s.Months {
			if s.Months[i].Month == m {
				return &s.Months[i]
			}
		}
		return nil
	}
	add := func(name string, v float64, op string, limit float64, detail string) {
		met := !math.IsNaN(v) && (op == ">=" && v >= limit-1e-12 || op == "<=" && v <= limit+1e-12)
		ts = append(ts, Target{Name: name, Value: v, Op: op, Limit: limit, Met: met, Detail: detail})
	}
	if m := at(1); m != nil {
		add("fallback rate in month 1", float64(m.FallbackRate), ">=", 0.40, "")
	}
	if m := at(6); m != nil {
		add("fallback rate in month 6", float64(m.FallbackRate), "<=", 0.12, "")
	}
	if m := at(12); m != nil {
		add("fallback rate in month 12", float64(m.FallbackRate), "<=", 0.06, "")
	}
	worst, worstMonth := math.Inf(1), 0
	for _, m := range s.Months {
		if m.Month >= 2 && m.MLAnswers > 0 && float64(m.MLPrecision) < worst {
			worst, worstMonth = float64(m.MLPrecision), m.Month
		}
	}
	if worstMonth > 0 {
		add("ML-route precision from month 2 on (worst month)", worst, ">=", 0.94, fmt.Sprintf("month %d", worstMonth))
	}
	if s.Reference != nil && len(s.Months) > 0 {
		last := s.Months[len(s.Months)-1]
		gap := float64(s.Reference.Accuracy) - float64(last.Accuracy)
		add("final test accuracy gap to the all-clean-data reference", gap, "<=", 0.01,
			fmt.Sprintf("final %.4f, reference %.4f", float64(last.Accuracy), float64(s.Reference.Accuracy)))
	}
	worstDrop, dropMonth := math.Inf(-1), 0
	for i := 1; i < len(s.Months); i++ {
		if !s.Months[i].Deployed {
			continue
		}
		drop := float64(s.Months[i-1].Accuracy) - float64(s.Months[i].Accuracy)
		if drop > worstDrop {
			worstDrop, dropMonth = drop, s.Months[i].Month
		}
	}
	if dropMonth > 0 {
		add("largest test-accuracy drop of a deployed month", worstDrop, "<=", gateTolerance, fmt.Sprintf("month %d", dropMonth))
	}
	return ts
}

// Num is a float64 that encodes NaN (no data: a month without ML answers
// has no precision) as JSON null and decodes null as NaN.
type Num float64

// MarshalJSON writes n, or null when it is not finite.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Num(f)
	return nil
}

// writeJSON writes the months as a JSON array, one object per month with the
// keys of Month (month, accuracy, fallback_rate, ml_precision, llm_calls,
// dataset_size, deployed, ...).
func writeJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s.Months)
}

// csvColumns are the CSV header, in order, with how to format each column.
var csvColumns = []struct {
	name string
	get  func(m Month) string
}{
	{"month", func(m Month) string { return strconv.Itoa(m.Month) }},
	{"served_by", func(m Month) string { return m.ServedBy }},
	{"queries", func(m Month) string { return strconv.Itoa(m.Queries) }},
	{"ml_answers", func(m Month) string { return strconv.Itoa(m.MLAnswers) }},
	{"llm_calls", func(m Month) string { return strconv.Itoa(m.LLMCalls) }},
	{"fallback_rate", func(m Month) string { return fnum(m.FallbackRate, 4) }},
	{"ml_precision", func(m Month) string { return fnum(m.MLPrecision, 4) }},
	{"llm_wrong", func(m Month) string { return strconv.Itoa(m.LLMWrong) }},
	{"feedback_positive", func(m Month) string { return strconv.Itoa(m.FeedbackPositive) }},
	{"feedback_negative", func(m Month) string { return strconv.Itoa(m.FeedbackNegative) }},
	{"corrections", func(m Month) string { return strconv.Itoa(m.Corrections) }},
	{"latency_p50_ms", func(m Month) string { return fnum(m.LatencyP50MS, 3) }},
	{"latency_mean_ms", func(m Month) string { return fnum(m.LatencyMeanMS, 3) }},
	{"retrain_id", func(m Month) string { return m.RunID }},
	{"gate", func(m Month) string { return m.Gate }},
	{"deployed", func(m Month) string { return strconv.FormatBool(m.Deployed) }},
	{"exported", func(m Month) string { return strconv.Itoa(m.Exported) }},
	{"dataset_size", func(m Month) string { return strconv.Itoa(m.DatasetSize) }},
	{"exported_total", func(m Month) string { return strconv.Itoa(m.ExportedTotal) }},
	{"exported_wrong", func(m Month) string { return strconv.Itoa(m.ExportedWrong) }},
	{"gate_accuracy", func(m Month) string { return fnum(m.GateAccuracy, 4) }},
	{"gate_delta", func(m Month) string { return fnum(m.GateDelta, 4) }},
	{"run_seconds", func(m Month) string { return fnum(m.RunSeconds, 2) }},
	{"version", func(m Month) string { return m.Version }},
	{"accuracy", func(m Month) string { return fnum(m.Accuracy, 4) }},
	{"threshold", func(m Month) string { return fnum(m.Threshold, 4) }},
	{"test_fallback_rate", func(m Month) string { return fnum(m.TestFallbackRate, 4) }},
	{"test_ml_precision", func(m Month) string { return fnum(m.TestMLPrecision, 4) }},
}

// fnum formats n with prec decimals, or "" for NaN.
func fnum(n Num, prec int) string {
	if math.IsNaN(float64(n)) {
		return ""
	}
	return strconv.FormatFloat(float64(n), 'f', prec, 64)
}

// writeCSV writes one CSV row per month, under a header of csvColumns'
// names. A value without data (NaN) is an empty field.
func writeCSV(w io.Writer, s *Summary) error {
	cw := csv.NewWriter(w)
	head := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		head[i] = c.name
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, m := range s.Months {
		rec := make([]string, len(csvColumns))
		for i, c := range csvColumns {
			rec[i] = c.get(m)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// pct formats a rate as a percentage, or "-" for NaN.
func pct(n Num) string {
	if math.IsNaN(float64(n)) {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n), 'f', 1, 64) + "%"
}

// writeTable prints the human report: the settings, one row per month, the
// reference model and the targets with their verdicts.
func writeTable(w io.Writer, s *Summary) error {
	var b strings.Builder
	corr := "a rejected ML answer is asked again of the LLM (column corrections, counted in LLM calls)"
	if !s.Corrections {
		corr = "rejected ML answers are not asked again (-no-corrections)"
	}
	fmt.Fprintf(&b, "seed set %d samples (%d labels), traffic %d queries over %d months; LLM noise %.0f%%, feedback on %.0f%% of answers; %s\n",
		s.SeedSamples, s.Labels, s.TrafficSamples, max(0, len(s.Months)-1), 100*s.Noise, 100*s.FeedbackRate, corr)
	if s.Threshold > 0 {
		fmt.Fprintf(&b, "routing: threshold %.2f for every model (-threshold), ambiguity margin %.2f\n", s.Threshold, s.Ambiguity)
	} else {
		fmt.Fprintf(&b, "routing: each model with the threshold it earned for ML-route precision %.2f on its hold-out (column threshold), ambiguity margin %.2f\n", s.TargetPrecision, s.Ambiguity)
	}
	b.WriteString("traffic columns: the month's queries, served by the model in service at its start; accuracy: test accuracy of the model in service after the month-end run\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "month\taccuracy\tthreshold\tfallback\tLLM calls\tcorrections\tp50 ms\tmean ms\tML precision\tdataset\texported\tnoisy\tgate\tdeployed\ttest fallback\ttest ML prec\t")
	for _, m := range s.Months {
		dep := "no"
		if m.Deployed {
			dep = "yes"
		}
		p50, mean := "-", "-"
		if m.Queries > 0 {
			p50, mean = fnum(m.LatencyP50MS, 2), fnum(m.LatencyMeanMS, 1)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t\n",
			m.Month, pct(m.Accuracy), fnum(m.Threshold, 3), pct(m.FallbackRate), m.LLMCalls, m.Corrections, p50, mean, pct(m.MLPrecision),
			m.DatasetSize, m.Exported, m.ExportedWrong, m.Gate, dep, pct(m.TestFallbackRate), pct(m.TestMLPrecision))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r := s.Reference; r != nil {
		fmt.Fprintf(&b, "\nreference (all %d clean training samples, same trainer): test accuracy %s; threshold %s (earned on val), test fallback %s, test ML precision %s (trained in %.1fs)\n",
			r.TrainSamples, pct(r.Accuracy), fnum(r.Threshold, 3), pct(r.TestFallbackRate), pct(r.TestMLPrecision), r.TrainSeconds)
	}
	if len(s.Targets) > 0 {
		b.WriteString("\ntargets:\n")
		for _, t := range s.Targets {
			v := "MET"
			if !t.Met {
				v = "NOT MET"
			}
			d := ""
			if t.Detail != "" {
				d = " (" + t.Detail + ")"
			}
			fmt.Fprintf(&b, "  %-7s %s: %.4f %s %.4g%s\n", v, t.Name, t.Value, t.Op, t.Limit, d)
		}
	}
	fmt.Fprintf(&b, "\nwall time %.1fs\n", s.WallSeconds)
	_, err := io.WriteString(w, b.String())
	return err
}
