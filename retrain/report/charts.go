package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"moodfood/backup"
	"moodfood/retrain"
	"moodfood/trigger"
)

// Chart is the data of one chart, independent of how it is drawn: the page
// renders it as SVG (RenderSVG), and tests compare it with a golden file.
type Chart struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Desc is the chart's text alternative: what it shows and its key
	// numbers, in a sentence or two.
	Desc string `json:"desc"`
	// Kind is "line" (points over a numeric or time X axis, joined per
	// series) or "bar" (grouped bars over Categories).
	Kind       string   `json:"kind"`
	X          Axis     `json:"x"`
	Y          Axis     `json:"y"`
	Categories []string `json:"categories,omitempty"`
	Series     []Series `json:"series"`
	// Diagonal draws the y = x reference line (perfect calibration).
	Diagonal bool `json:"diagonal,omitempty"`
	// Empty says why there is nothing to draw yet ("" when there is).
	Empty string `json:"empty,omitempty"`
}

// Axis describes one axis. Time axes hold Unix seconds. Min and Max are
// fixed bounds when Fixed is set; otherwise the data's range is used.
type Axis struct {
	Label   string  `json:"label"`
	Time    bool    `json:"time,omitempty"`
	Percent bool    `json:"percent,omitempty"`
	Fixed   bool    `json:"fixed,omitempty"`
	Min     float64 `json:"min,omitempty"`
	Max     float64 `json:"max,omitempty"`
}

// Series is one named set of points. Line joins them.
type Series struct {
	Name   string  `json:"name"`
	Line   bool    `json:"line,omitempty"`
	Points []Point `json:"points"`
}

// Point is one datum. For bar charts X is the category's index. Marker
// names the point's shape ("deployed", "rejected", "rolled_back", or ""
// for a plain dot) and Note is its tooltip.
type Point struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Marker string  `json:"marker,omitempty"`
	Note   string  `json:"note,omitempty"`
}

// Charts builds the page's charts from d, in page order: scores per run,
// dataset size by source, training duration, live fallback rate and
// ML-route precision per day, per-intent F1 against the previous version,
// and the reliability diagram of the deployed model.
func Charts(d *Data) []Chart {
	trained := trainedRuns(d.Runs)
	return []Chart{
		scoreChart(trained),
		datasetChart(trained),
		durationChart(trained),
		liveChart(d),
		intentChart(d),
		reliabilityChart(d),
	}
}

// trainedRuns are the runs that trained a candidate and judged it (their
// records carry held-out metrics): rejected, deployed and rolled back by
// canaries. A run skipped after training (its candidate was identical to
// the deployed model) is left out.
func trainedRuns(runs []retrain.Record) []retrain.Record {
	var out []retrain.Record
	for _, r := range runs {
		if r.Manual || r.DryRun || len(r.NewMetrics) == 0 || r.Status == trigger.OutcomeSkipped {
			continue
		}
		out = append(out, r)
	}
	return out
}

func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func runNote(r *retrain.Record, what string) string {
	return fmt.Sprintf("%s %s: %s (%s)", r.Timestamp.UTC().Format("2006-01-02 15:04"), r.Status, what, r.RetrainID)
}

func scoreChart(runs []retrain.Record) Chart {
	c := Chart{ID: "scores", Kind: "line", Title: "Held-out accuracy and macro-F1 of every trained run",
		X: Axis{Label: "run date (UTC)", Time: true}, Y: Axis{Label: "score on held-out samples", Percent: true}}
	acc := Series{Name: "accuracy", Line: true}
	f1 := Series{Name: "macro-F1", Line: true}
	counts := map[trigger.Outcome]int{}
	for i := range runs {
		r := &runs[i]
		counts[r.Status]++
		if v, ok := r.NewMetrics["accuracy"]; ok {
			acc.Points = append(acc.Points, Point{X: unix(r.Timestamp), Y: v, Marker: string(r.Status), Note: runNote(r, fmt.Sprintf("accuracy %.4f", v))})
		}
		if v, ok := r.NewMetrics["macro_f1"]; ok {
			f1.Points = append(f1.Points, Point{X: unix(r.Timestamp), Y: v, Marker: string(r.Status), Note: runNote(r, fmt.Sprintf("macro-F1 %.4f", v))})
		}
	}
	c.Series = []Series{acc, f1}
	if len(runs) == 0 {
		c.Empty = "No run has trained a model yet."
		c.Desc = c.Empty
		return c
	}
	c.Desc = fmt.Sprintf("%d trained runs from %s to %s: %d deployed, %d rejected by the gate, %d rolled back.",
		len(runs), day(runs[0].Timestamp), day(runs[len(runs)-1].Timestamp),
		counts[trigger.OutcomeDeployed], counts[trigger.OutcomeRejected], counts[trigger.OutcomeRolledBack])
	for i := len(runs) - 1; i >= 0; i-- {
		if r := runs[i]; r.Status == trigger.OutcomeDeployed {
			c.Desc += fmt.Sprintf(" The last deploy (%s) scored accuracy %.3f and macro-F1 %.3f.", day(r.Timestamp), r.NewMetrics["accuracy"], r.NewMetrics["macro_f1"])
			break
		}
	}
	return c
}

func datasetChart(runs []retrain.Record) Chart {
	c := Chart{ID: "dataset", Kind: "line", Title: "Dataset size by source",
		X: Axis{Label: "run date (UTC)", Time: true}, Y: Axis{Label: "samples", Fixed: true}}
	bySource := map[string]*Series{}
	total := Series{Name: "total after dedupe", Line: true}
	for i := range runs {
		r := &runs[i]
		q := r.DatasetQuality
		src := q.Sources
		if src == nil { // records written before sources were kept
			src = map[string]int{"base": q.BaseSamples, "exported": q.OldSamples + q.NewSamples}
		}
		for name, n := range src {
			s := bySource[name]
			if s == nil {
				s = &Series{Name: name, Line: true}
				bySource[name] = s
			}
			s.Points = append(s.Points, Point{X: unix(r.Timestamp), Y: float64(n), Note: runNote(r, fmt.Sprintf("%d %s samples", n, name))})
		}
		total.Points = append(total.Points, Point{X: unix(r.Timestamp), Y: float64(q.TotalEntries), Note: runNote(r, fmt.Sprintf("%d samples after merge and dedupe", q.TotalEntries))})
	}
	names := make([]string, 0, len(bySource))
	for n := range bySource {
		names = append(names, n)
	}
	slices.Sort(names)
	c.Series = append(c.Series, total)
	for _, n := range names {
		c.Series = append(c.Series, *bySource[n])
	}
	c.Y.Max = maxY(c.Series) * 1.05
	if len(runs) == 0 {
		c.Empty = "No run has trained a model yet."
		c.Desc = c.Empty
		return c
	}
	first, last := runs[0].DatasetQuality, runs[len(runs)-1].DatasetQuality
	c.Desc = fmt.Sprintf("The training data grew from %d to %d samples after dedupe over %d trained runs.", first.TotalEntries, last.TotalEntries, len(runs))
	if len(last.Sources) > 0 {
		var parts []string
		for _, n := range names {
			if v, ok := last.Sources[n]; ok {
				parts = append(parts, fmt.Sprintf("%s %d", n, v))
			}
		}
		c.Desc += " Last run by source: " + strings.Join(parts, ", ") + "."
	}
	return c
}

func stageSeconds(r *retrain.Record, stage string) (float64, bool) {
	for _, d := range r.Durations {
		if d.Stage == stage {
			return d.Seconds, true
		}
	}
	return 0, false
}

func durationChart(runs []retrain.Record) Chart {
	c := Chart{ID: "duration", Kind: "line", Title: "Training duration per run",
		X: Axis{Label: "run date (UTC)", Time: true}, Y: Axis{Label: "seconds", Fixed: true}}
	train := Series{Name: "training", Line: true}
	whole := Series{Name: "whole run", Line: true}
	for i := range runs {
		r := &runs[i]
		if s, ok := stageSeconds(r, "train"); ok {
			train.Points = append(train.Points, Point{X: unix(r.Timestamp), Y: s, Note: runNote(r, fmt.Sprintf("training %.1f s", s))})
		}
		whole.Points = append(whole.Points, Point{X: unix(r.Timestamp), Y: r.DurationSeconds, Note: runNote(r, fmt.Sprintf("whole run %.1f s", r.DurationSeconds))})
	}
	c.Series = []Series{train, whole}
	c.Y.Max = maxY(c.Series) * 1.1
	if len(runs) == 0 {
		c.Empty = "No run has trained a model yet."
		c.Desc = c.Empty
		return c
	}
	last := runs[len(runs)-1]
	ts, _ := stageSeconds(&last, "train")
	c.Desc = fmt.Sprintf("The last trained run (%s) spent %.1f s training and %.1f s in all; the longest run took %.1f s.",
		day(last.Timestamp), ts, last.DurationSeconds, maxY([]Series{whole}))
	return c
}

func liveChart(d *Data) Chart {
	c := Chart{ID: "live", Kind: "line", Title: "LLM fallback rate and ML-route precision per day",
		X: Axis{Label: "day (UTC)", Time: true}, Y: Axis{Label: "share", Percent: true, Fixed: true, Min: 0, Max: 1}}
	fb := Series{Name: "LLM fallback rate", Line: true}
	prec := Series{Name: "ML-route precision (feedback)", Line: true}
	agree := Series{Name: "ML agrees with LLM", Line: true}
	queries := 0
	for _, ds := range d.Days {
		x := unix(ds.Day.Add(12 * time.Hour))
		queries += ds.Queries
		if ds.Queries > 0 {
			fb.Points = append(fb.Points, Point{X: x, Y: ds.FallbackRate(), Note: fmt.Sprintf("%s: %d of %d queries went to the LLM", day(ds.Day), ds.LLM, ds.Queries)})
		}
		if ds.MLFeedback > 0 {
			prec.Points = append(prec.Points, Point{X: x, Y: ds.MLPrecision(), Note: fmt.Sprintf("%s: %d of %d feedbacks on ML answers positive", day(ds.Day), ds.MLPositive, ds.MLFeedback)})
		}
		if ds.Compared > 0 {
			agree.Points = append(agree.Points, Point{X: x, Y: float64(ds.Agreed) / float64(ds.Compared), Note: fmt.Sprintf("%s: the model's top label was among the LLM's on %d of %d fallbacks", day(ds.Day), ds.Agreed, ds.Compared)})
		}
	}
	c.Series = []Series{fb, prec, agree}
	if queries == 0 {
		c.Empty = "No query has been served in the period shown."
		if d.Days == nil {
			c.Empty = "This store keeps no per-day query counts."
		}
		c.Desc = c.Empty
		return c
	}
	first, last := d.Days[0], d.Days[len(d.Days)-1]
	c.Desc = fmt.Sprintf("%d queries from %s to %s. On %s the LLM answered %.1f%% of them", queries, day(first.Day), day(last.Day), day(last.Day), 100*last.FallbackRate())
	if last.MLFeedback > 0 {
		c.Desc += fmt.Sprintf(" and %.1f%% of the feedback on the model's own answers was positive", 100*last.MLPrecision())
	}
	c.Desc += "."
	return c
}

// deployRecord is the record of the run that deployed the version now
// deployed, or nil.
func deployRecord(d *Data) *retrain.Record {
	if d.Deployed == nil {
		return nil
	}
	for i := len(d.Runs) - 1; i >= 0; i-- {
		r := &d.Runs[i]
		if r.Status == trigger.OutcomeDeployed && r.NewVersion == d.Deployed.Version {
			return r
		}
	}
	return nil
}

// maxIntents is how many intents the per-intent chart shows.
const maxIntents = 20

func intentChart(d *Data) Chart {
	c := Chart{ID: "intents", Kind: "bar", Title: "Per-intent F1: deployed model against the previous version",
		X: Axis{Label: "intent"}, Y: Axis{Label: "F1 on held-out samples", Percent: true, Fixed: true, Min: 0, Max: 1}}
	r := deployRecord(d)
	if r == nil || r.Evaluation == nil || len(r.Evaluation.Intents) == 0 {
		c.Empty = "The deployed model's per-intent scores were not recorded (no deployed model, or it was deployed before they were kept)."
		c.Desc = c.Empty
		c.Series = []Series{{Name: "deployed"}, {Name: "previous"}}
		return c
	}
	its := slices.Clone(r.Evaluation.Intents)
	delta := func(it retrain.IntentF1) float64 {
		if it.OldF1 == nil {
			return 0
		}
		return it.F1 - *it.OldF1
	}
	withOld, changed := 0, 0
	for _, it := range its {
		if it.OldF1 != nil {
			withOld++
		}
		if math.Abs(delta(it)) > 1e-9 {
			changed++
		}
	}
	// The intents that changed most (largest drop first, then largest
	// gain), then the weakest, by name on ties.
	sort.SliceStable(its, func(i, j int) bool {
		di, dj := math.Abs(delta(its[i])), math.Abs(delta(its[j]))
		if di != dj {
			return di > dj
		}
		return its[i].F1 < its[j].F1
	})
	its = its[:min(maxIntents, len(its))]
	slices.SortStableFunc(its, func(a, b retrain.IntentF1) int {
		return cmp.Or(cmp.Compare(delta(a), delta(b)), cmp.Compare(a.F1, b.F1))
	})
	dep := Series{Name: "deployed " + string(r.NewVersion)}
	prev := Series{Name: "previous " + string(r.OldVersion)}
	for i, it := range its {
		c.Categories = append(c.Categories, it.Intent)
		dep.Points = append(dep.Points, Point{X: float64(i), Y: it.F1, Note: fmt.Sprintf("%s: F1 %.3f (%d held-out samples)", it.Intent, it.F1, it.Support)})
		if it.OldF1 != nil {
			prev.Points = append(prev.Points, Point{X: float64(i), Y: *it.OldF1, Note: fmt.Sprintf("%s: F1 %.3f before (%+.3f)", it.Intent, *it.OldF1, delta(it))})
		}
	}
	c.Series = []Series{dep, prev}
	switch {
	case withOld > 0 && changed > 0:
		c.Desc = fmt.Sprintf("%d of %d intents changed F1 when %s replaced %s; shown: the %d that changed most, then the weakest. Largest drop: %s %+.3f; largest gain: %s %+.3f.",
			changed, len(r.Evaluation.Intents), r.NewVersion, r.OldVersion, len(its), its[0].Intent, delta(its[0]), its[len(its)-1].Intent, delta(its[len(its)-1]))
	case withOld > 0:
		c.Desc = fmt.Sprintf("No intent changed F1 when %s replaced %s; shown: the %d weakest of %d, the weakest %s with F1 %.3f.",
			r.NewVersion, r.OldVersion, len(its), len(r.Evaluation.Intents), its[0].Intent, its[0].F1)
	default:
		c.Title = "Per-intent F1 of the deployed model (no previous version to compare)"
		c.Desc = fmt.Sprintf("The %d weakest of %d intents of %s; the weakest is %s with F1 %.3f.", len(its), len(r.Evaluation.Intents), r.NewVersion, its[0].Intent, its[0].F1)
	}
	return c
}

func reliabilityChart(d *Data) Chart {
	c := Chart{ID: "reliability", Kind: "line", Title: "Reliability diagram of the deployed model's confidence", Diagonal: true,
		X: Axis{Label: "confidence of the top label (bin mean)", Percent: true, Fixed: true, Min: 0, Max: 1},
		Y: Axis{Label: "share right", Percent: true, Fixed: true, Min: 0, Max: 1}}
	r := deployRecord(d)
	if r == nil || r.Evaluation == nil || len(r.Evaluation.Reliability) == 0 {
		c.Empty = "The deployed model's calibration was not recorded (no deployed model, or it was deployed before it was kept)."
		c.Desc = c.Empty
		c.Series = []Series{{Name: "deployed"}}
		return c
	}
	s := Series{Name: "deployed " + string(r.NewVersion), Line: true}
	n := 0
	for _, b := range r.Evaluation.Reliability {
		if b.N == 0 {
			continue
		}
		n += b.N
		s.Points = append(s.Points, Point{X: b.Confidence, Y: b.Accuracy,
			Note: fmt.Sprintf("confidence %.2f-%.2f: %d samples, mean confidence %.3f, %.1f%% right", b.Lo, b.Hi, b.N, b.Confidence, 100*b.Accuracy)})
	}
	c.Series = []Series{s}
	ece := r.NewMetrics["ece"]
	c.Desc = fmt.Sprintf("On %d held-out samples, points on the diagonal are perfectly calibrated; below it the model is over-confident. Expected calibration error %.3f.", n, ece)
	return c
}

func maxY(ss []Series) float64 {
	m := 0.0
	for _, s := range ss {
		for _, p := range s.Points {
			m = max(m, p.Y)
		}
	}
	if m == 0 {
		return 1
	}
	return m
}

// versionRun maps a version to the run that stored it, for the backups
// table.
func versionRun(ms []backup.Manifest, runs []retrain.Record) map[backup.Version]*retrain.Record {
	out := map[backup.Version]*retrain.Record{}
	byID := map[string]*retrain.Record{}
	for i := range runs {
		byID[runs[i].RetrainID] = &runs[i]
	}
	for _, m := range ms {
		if r, ok := byID[m.RunID]; ok {
			out[m.Version] = r
		}
	}
	return out
}
