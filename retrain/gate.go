package retrain

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"moodfood/dataset"
	"moodfood/model"
	"moodfood/trigger"
)

// Manifest metric keys the Retrainer writes besides model.Report.Metrics.
const (
	metricTrainSamples = "train_samples"
	metricOOVRate      = "oov_rate"
	// metricSharePrefix + label is the label's share of the training samples:
	// the baseline of drift policies and the deployed label set.
	metricSharePrefix = "train_share/"
)

// splitData is the merged data split for one run.
type splitData struct {
	train, holdout, golden []model.Example
	// selfLabelled marks the held-out samples whose labels are the model's
	// own answers (sources feedback and model): only the answers it got
	// right survive as samples, so they would make any threshold look
	// precise. Routing thresholds are derived without them (unless
	// corrections are logged: see confirmed).
	selfLabelled []bool
	// confirmed marks the held-out samples a user confirmed (source
	// feedback): with Config.CorrectionsLogged they are routing samples.
	confirmed []bool

	total, duplicates int
	conflicts         int
	labels            map[string]int // training label -> count
}

// split merges base, old and new samples, dedupes them and splits them on a
// stable hash of the normalized text; samples whose normalized text is in
// the golden set never train.
func (r *Retrainer) split(snap dataset.Snapshot) splitData {
	merged, st := r.mergeSamples(snap)
	sp := splitData{total: len(merged), duplicates: st.Duplicates, conflicts: st.Conflicts, labels: map[string]int{}}
	golden := make(map[string]bool, len(snap.Golden))
	for _, s := range snap.Golden {
		golden[normalizeKey(s.Text)] = true
		sp.golden = append(sp.golden, model.Example{Text: s.Text, Labels: s.Labels})
	}
	for _, s := range merged {
		key := normalizeKey(s.Text)
		if golden[key] {
			continue
		}
		ex := model.Example{Text: s.Text, Labels: s.Labels}
		if model.InHoldout(dataset.SplitKey(s.Text), r.cfg.HoldoutFraction) {
			sp.holdout = append(sp.holdout, ex)
			sp.selfLabelled = append(sp.selfLabelled, s.Source == dataset.SourceFeedback || s.Source == dataset.SourceModel)
			sp.confirmed = append(sp.confirmed, s.Source == dataset.SourceFeedback)
			continue
		}
		sp.train = append(sp.train, ex)
		for _, l := range s.Labels {
			sp.labels[l]++
		}
	}
	return sp
}

// evaluation is everything the gate looks at.
type evaluation struct {
	hasDep bool
	// holdout scores.
	cand, dep               model.Report
	candPreds, depPreds     []model.Prediction
	holdout                 []model.Example
	goldCand, goldDep       model.Report
	golden                  int
	candMetrics, depMetrics map[string]float64
	// nonFinite counts candidate predictions with a non-finite confidence or
	// probability, and non-finite gated metrics.
	nonFinite int
	// missing are labels the deployed model knew and the candidate does not;
	// labelsKnown says whether the deployed label set is known.
	missing     []string
	labelsKnown bool
	canaries    int
	canaryFails []CanaryResult
	// candRouting and depRouting are the routing thresholds both models
	// earn on the held-out samples, at the target precision.
	candRouting, depRouting Routing
	// twin says the deployed side was scored through its twin (see
	// Retrainer.twin); twinDetail says how.
	twin       bool
	twinDetail string
	// holdNoise and goldNoise are the paired accuracy differences between
	// the candidate and the deployed side on the hold-out and the golden
	// set (see Gate.NoiseZ).
	holdNoise, goldNoise pairedDiff
}

// pairedDiff is how two models' answers on the same n samples differ:
// b samples only the candidate gets right, c only the other one.
type pairedDiff struct{ n, b, c int }

// se is the standard error of the difference of the two accuracies
// (the paired, McNemar-style estimate); 0 without samples.
func (d pairedDiff) se() float64 {
	if d.n == 0 {
		return 0
	}
	n, disc, diff := float64(d.n), float64(d.b+d.c), float64(d.b-d.c)
	return math.Sqrt(max(0, disc-diff*diff/n)) / n
}

// pair compares two models' predictions for ex answer by answer (an
// answer is right when its label set is exactly the true one).
func pair(ex []model.Example, cand, other []model.Prediction) pairedDiff {
	d := pairedDiff{n: len(ex)}
	for i, e := range ex {
		switch a, o := ExactMatch(cand[i].Labels, e.Labels), ExactMatch(other[i].Labels, e.Labels); {
		case a && !o:
			d.b++
		case o && !a:
			d.c++
		}
	}
	return d
}

// cachedPredictor replays predictions already made, so that model.Evaluate
// scores exactly what the gate's bootstrap resamples.
type cachedPredictor map[string]model.Prediction

func (c cachedPredictor) Predict(text string) model.Prediction { return c[text] }

func report(ex []model.Example, preds []model.Prediction) model.Report {
	c := make(cachedPredictor, len(ex))
	for i, e := range ex {
		c[e.Text] = preds[i]
	}
	return model.Evaluate(c, ex, &model.EvalOptions{TopConfused: 10, Workers: 1})
}

// evaluate scores the candidate and the reference on the held-out samples.
// ref is what the candidate is compared with: the deployed model, or its
// twin when the deployed model was refit on its hold-out (see
// Retrainer.twin); dep supplies the deployed label set.
func (r *Retrainer) evaluate(ctx context.Context, cand, ref Classifier, dep *deployedModel, sp splitData) (*evaluation, error) {
	ev := &evaluation{hasDep: ref != nil, holdout: sp.holdout, golden: len(sp.golden), canaries: len(r.cfg.Canaries)}
	var err error
	if ev.candPreds, err = predictAll(ctx, cand, sp.holdout); err != nil {
		return nil, err
	}
	ev.cand = report(sp.holdout, ev.candPreds)
	var goldCandPreds, goldDepPreds []model.Prediction
	if len(sp.golden) > 0 {
		if goldCandPreds, err = predictAll(ctx, cand, sp.golden); err != nil {
			return nil, err
		}
		ev.goldCand = report(sp.golden, goldCandPreds)
	}
	if ev.hasDep {
		if ev.depPreds, err = predictAll(ctx, ref, sp.holdout); err != nil {
			return nil, fmt.Errorf("deployed model: %w", err)
		}
		ev.dep = report(sp.holdout, ev.depPreds)
		ev.holdNoise = pair(sp.holdout, ev.candPreds, ev.depPreds)
		if len(sp.golden) > 0 {
			if goldDepPreds, err = predictAll(ctx, ref, sp.golden); err != nil {
				return nil, fmt.Errorf("deployed model: %w", err)
			}
			ev.goldDep = report(sp.golden, goldDepPreds)
			ev.goldNoise = pair(sp.golden, goldCandPreds, goldDepPreds)
		}
	}
	for _, preds := range [][]model.Prediction{ev.candPreds, goldCandPreds} {
		for _, p := range preds {
			if !isFinite(p.Confidence) || slices.ContainsFunc(p.Ranked, func(s model.Score) bool { return !isFinite(s.Prob) }) {
				ev.nonFinite++
			}
		}
	}
	for _, v := range []float64{ev.cand.Accuracy, ev.cand.MacroF1} {
		if !isFinite(v) {
			ev.nonFinite++
		}
	}

	// Routing thresholds at the target precision, on the same samples.
	ropts := RoutingOptions{TargetPrecision: r.cfg.TargetPrecision, Delta: r.cfg.RoutingDelta}
	rex, rcand := routingSet(sp, ev.candPreds, goldCandPreds, r.cfg.CorrectionsLogged)
	ev.candRouting = DeriveRouting(rcand, rex, ropts)
	if ev.hasDep {
		_, rdep := routingSet(sp, ev.depPreds, goldDepPreds, r.cfg.CorrectionsLogged)
		ev.depRouting = DeriveRouting(rdep, rex, ropts)
	}

	// Metrics for the manifest and the record.
	m := ev.cand.Metrics()
	m[metricTrainSamples] = float64(len(sp.train))
	maps.Copy(m, ev.candRouting.Metrics())
	if len(sp.golden) > 0 {
		m["golden_accuracy"] = ev.goldCand.Accuracy
		m["golden_macro_f1"] = ev.goldCand.MacroF1
	}
	if oc, ok := cand.(OOVCounter); ok && len(sp.holdout) > 0 {
		var unk, tot int
		for _, e := range sp.holdout {
			u, t := oc.OOV(e.Text)
			unk, tot = unk+u, tot+t
		}
		if tot > 0 {
			m[metricOOVRate] = float64(unk) / float64(tot)
		}
	}
	for l, n := range sp.labels {
		m[metricSharePrefix+l] = float64(n) / float64(len(sp.train))
	}
	ev.candMetrics = m
	if ev.hasDep {
		dm := ev.dep.Metrics()
		maps.Copy(dm, ev.depRouting.Metrics())
		if len(sp.golden) > 0 {
			dm["golden_accuracy"] = ev.goldDep.Accuracy
			dm["golden_macro_f1"] = ev.goldDep.MacroF1
		}
		ev.depMetrics = dm
	}

	// Label sets.
	var candLabels []string
	if lb, ok := cand.(Labeler); ok {
		candLabels = lb.Labels()
	} else {
		for l := range sp.labels {
			candLabels = append(candLabels, l)
		}
	}
	var depLabels []string
	if lb, ok := dep.clf.(Labeler); ok && dep.clf != nil {
		depLabels, ev.labelsKnown = lb.Labels(), true
	} else if dep.manifest != nil {
		for k := range dep.manifest.Metrics {
			if l, ok := strings.CutPrefix(k, metricSharePrefix); ok {
				depLabels = append(depLabels, l)
				ev.labelsKnown = true
			}
		}
	}
	for _, l := range depLabels {
		if !slices.Contains(candLabels, l) {
			ev.missing = append(ev.missing, l)
		}
	}
	slices.Sort(ev.missing)

	// Canaries on the candidate, before anything is written.
	if len(r.cfg.Canaries) > 0 {
		if ev.canaryFails, err = canaryFailures(cand, r.cfg.Canaries); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// routingSet is what routing thresholds are derived on, with a model's
// predictions for it: the held-out samples whose labels are not the model's
// own confirmed answers, and the golden set. Neither trained the model; the
// labels of both are independent of what the model answered. With
// corrected (Config.CorrectionsLogged), the user-confirmed answers are in
// too: with the corrections of the rejected ones, they sample the ML
// route's answers, right and wrong alike.
func routingSet(sp splitData, holdoutPreds, goldenPreds []model.Prediction, corrected bool) ([]model.Example, []model.Prediction) {
	var ex []model.Example
	var preds []model.Prediction
	for i, e := range sp.holdout {
		if !sp.selfLabelled[i] || corrected && sp.confirmed[i] {
			ex, preds = append(ex, e), append(preds, holdoutPreds[i])
		}
	}
	return append(ex, sp.golden...), append(preds, goldenPreds...)
}

// checks applies the gate to an evaluation. Every check is returned, passed
// or not, in a fixed order.
func (g *Gate) checks(ev *evaluation) []Check {
	eps := g.Epsilon
	atLeast := func(name string, v, thr float64) Check {
		return Check{Name: name, Value: v, Threshold: thr, Op: ">=", Passed: isFinite(v) && v >= thr-eps}
	}
	atMost := func(name string, v, thr float64) Check {
		return Check{Name: name, Value: v, Threshold: thr, Op: "<=", Passed: isFinite(v) && v <= thr+eps}
	}
	var cs []Check
	cs = append(cs, atLeast("eval_samples", float64(len(ev.holdout)), float64(g.MinEvalSamples)))
	cs = append(cs, atMost("non_finite", float64(ev.nonFinite), 0))
	if g.MinAccuracy > 0 {
		cs = append(cs, atLeast("accuracy", ev.cand.Accuracy, g.MinAccuracy))
	}
	if g.MinMacroF1 > 0 {
		cs = append(cs, atLeast("macro_f1", ev.cand.MacroF1, g.MinMacroF1))
	}
	if ev.hasDep {
		cs = append(cs,
			g.dropCheck("accuracy_delta", ev.cand.Accuracy-ev.dep.Accuracy, g.MaxAccuracyDrop, ev.holdNoise),
			g.dropCheck("macro_f1_delta", ev.cand.MacroF1-ev.dep.MacroF1, g.MaxMacroF1Drop, ev.holdNoise))
		if ev.golden > 0 {
			cs = append(cs,
				g.dropCheck("golden_accuracy_delta", ev.goldCand.Accuracy-ev.goldDep.Accuracy, g.MaxAccuracyDrop, ev.goldNoise),
				g.dropCheck("golden_macro_f1_delta", ev.goldCand.MacroF1-ev.goldDep.MacroF1, g.MaxMacroF1Drop, ev.goldNoise))
		}
		if g.MaxIntentF1Drop >= 0 {
			cs = append(cs, g.intentCheck(ev))
		}
		if g.MaxCoverageDrop >= 0 {
			cs = append(cs, g.coverageCheck(ev))
		}
		if g.Bootstrap > 0 && len(ev.holdout) > 0 {
			lo := bootstrapLower(ev.holdout, ev.candPreds, ev.depPreds, g.Bootstrap, g.BootstrapSeed)
			c := atLeast("bootstrap_macro_f1_delta_lower95", lo, -g.BootstrapMargin)
			c.Detail = fmt.Sprintf("%d paired resamples, seed %d", g.Bootstrap, g.BootstrapSeed)
			cs = append(cs, c)
		}
	}
	if ev.labelsKnown {
		c := atMost("labels_dropped", float64(len(ev.missing)), 0)
		if len(ev.missing) > 0 {
			c.Detail = "deployed labels missing from the candidate: " + strings.Join(firstN(ev.missing, 10), ", ")
			if g.AllowLabelChange {
				c.Passed = true
				c.Detail += " (allowed)"
			}
		}
		cs = append(cs, c)
	}
	if ev.canaries > 0 {
		c := atMost("canary_failures", float64(len(ev.canaryFails)), 0)
		if len(ev.canaryFails) > 0 {
			c.Detail = canaryText(ev.canaryFails)
		}
		cs = append(cs, c)
	}
	return cs
}

// dropCheck is a "the candidate may score at most drop below" check on a
// difference v, with the tolerance widened to Gate.NoiseZ standard errors
// of the paired difference d when that is wider (see Gate.NoiseZ).
func (g *Gate) dropCheck(name string, v, drop float64, d pairedDiff) Check {
	tol, detail := g.tolerance(drop, d)
	return Check{Name: name, Value: v, Threshold: -tol, Op: ">=", Passed: isFinite(v) && v >= -tol-g.Epsilon, Detail: detail}
}

// tolerance is drop widened by the sampling noise of d, and a Detail
// saying so when it was.
func (g *Gate) tolerance(drop float64, d pairedDiff) (float64, string) {
	if g.NoiseZ <= 0 || drop < 0 {
		return drop, ""
	}
	if w := g.NoiseZ * d.se(); w > drop {
		return w, fmt.Sprintf("tolerance %.4f: %.3g standard errors of the paired accuracy difference on %d samples (%d only the candidate gets right, %d only the deployed side)",
			w, g.NoiseZ, d.n, d.b, d.c)
	}
	return drop, ""
}

// coverageCheck compares the share of held-out samples each model may
// answer on the ML route at the target precision (see DeriveRouting).
func (g *Gate) coverageCheck(ev *evaluation) Check {
	c, d := ev.candRouting, ev.depRouting
	chk := Check{Name: "coverage_at_target_delta", Value: c.Coverage - d.Coverage, Threshold: -g.MaxCoverageDrop, Op: ">="}
	chk.Passed = isFinite(chk.Value) && chk.Value >= chk.Threshold-g.Epsilon
	side := func(r Routing) string {
		if !r.Met {
			return fmt.Sprintf("no threshold reaches %.2f", r.Target)
		}
		return fmt.Sprintf("%.4f at threshold %.4f (precision %.4f, lower bound %.4f)", r.Coverage, r.Threshold, r.Precision, r.Lower)
	}
	chk.Detail = fmt.Sprintf("target precision %.2f: candidate %s; deployed %s", c.Target, side(c), side(d))
	if ev.twin {
		chk.Detail += "; " + ev.twinDetail
	}
	return chk
}

// intentCheck is the per-intent guard: the largest F1 loss over intents with
// enough held-out support.
func (g *Gate) intentCheck(ev *evaluation) Check {
	depF1 := map[string]model.LabelReport{}
	for _, lr := range ev.dep.PerLabel {
		depF1[lr.Label] = lr
	}
	worst, worstLabel, guarded := 0.0, "", 0
	for _, lr := range ev.cand.PerLabel {
		if lr.Support < g.IntentMinSupport {
			continue
		}
		guarded++
		if d := depF1[lr.Label].F1 - lr.F1; d > worst || (worstLabel == "" && math.IsNaN(d)) {
			worst, worstLabel = d, lr.Label
		}
	}
	c := Check{Name: "intent_f1_drop", Value: worst, Threshold: g.MaxIntentF1Drop, Op: "<=",
		Passed: isFinite(worst) && worst <= g.MaxIntentF1Drop+g.Epsilon}
	switch {
	case guarded == 0:
		c.Detail = fmt.Sprintf("no intent has %d or more held-out samples", g.IntentMinSupport)
	case worstLabel != "":
		c.Detail = fmt.Sprintf("worst: %s %.4f -> %.4f (%d intents guarded)", worstLabel, depF1[worstLabel].F1, depF1[worstLabel].F1-worst, guarded)
	default:
		c.Detail = fmt.Sprintf("no guarded intent lost F1 (%d intents guarded)", guarded)
	}
	return c
}

// bootstrapLower is the 2.5th percentile of the paired bootstrap distribution
// of macro-F1(candidate) - macro-F1(deployed): each resample draws len(ex)
// held-out samples with replacement and scores both models on the same
// draw. Macro-F1 is model.Evaluate's: the mean F1 over the labels seen in the
// resample's truth or predictions. Deterministic for a given seed.
func bootstrapLower(ex []model.Example, cand, dep []model.Prediction, resamples int, seed uint64) float64 {
	idx := map[string]int{}
	id := func(l string) int32 {
		i, ok := idx[l]
		if !ok {
			i = len(idx)
			idx[l] = i
		}
		return int32(i)
	}
	// Per sample and model: label ids with their kind (0 tp, 1 fp, 2 fn),
	// packed as id*3+kind.
	contrib := func(truth []string, p model.Prediction) []int32 {
		var out []int32
		for _, l := range truth {
			if slices.Contains(p.Labels, l) {
				out = append(out, id(l)*3)
			} else {
				out = append(out, id(l)*3+2)
			}
		}
		for _, l := range p.Labels {
			if !slices.Contains(truth, l) {
				out = append(out, id(l)*3+1)
			}
		}
		return out
	}
	cc := make([][]int32, len(ex))
	dc := make([][]int32, len(ex))
	for i, e := range ex {
		cc[i] = contrib(e.Labels, cand[i])
		dc[i] = contrib(e.Labels, dep[i])
	}
	L := len(idx)
	cnt := [2][]int{make([]int, 3*L), make([]int, 3*L)}
	macro := func(c []int) float64 {
		var sum float64
		n := 0
		for l := range L {
			tp, fp, fn := c[3*l], c[3*l+1], c[3*l+2]
			if tp+fp+fn == 0 {
				continue
			}
			n++
			sum += float64(2*tp) / float64(2*tp+fp+fn)
		}
		if n == 0 {
			return 0
		}
		return sum / float64(n)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d6f6f64666f6f64))
	deltas := make([]float64, resamples)
	for b := range resamples {
		clear(cnt[0])
		clear(cnt[1])
		for range ex {
			i := rng.IntN(len(ex))
			for _, v := range cc[i] {
				cnt[0][v]++
			}
			for _, v := range dc[i] {
				cnt[1][v]++
			}
		}
		deltas[b] = macro(cnt[0]) - macro(cnt[1])
	}
	sort.Float64s(deltas)
	k := int(math.Floor(0.025 * float64(resamples)))
	return deltas[min(k, resamples-1)]
}

func failedChecks(cs []Check) []string {
	var out []string
	for _, c := range cs {
		if !c.Passed {
			s := fmt.Sprintf("%s = %.4f, want %s %.4f", c.Name, c.Value, c.Op, c.Threshold)
			if c.Detail != "" {
				s += " (" + c.Detail + ")"
			}
			out = append(out, s)
		}
	}
	return out
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), fmt.Sprintf("... %d more", len(s)-n))
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func finite0(v float64) float64 {
	if !isFinite(v) {
		return 0
	}
	return v
}

// baselineFrom reads the drift baseline back from a manifest's metrics.
func baselineFrom(m map[string]float64) trigger.Baseline {
	b := trigger.Baseline{OOVRate: m[metricOOVRate]}
	for k, v := range m {
		if l, ok := strings.CutPrefix(k, metricSharePrefix); ok {
			if b.Intents == nil {
				b.Intents = map[string]float64{}
			}
			b.Intents[l] = v
		}
	}
	return b
}
