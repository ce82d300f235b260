package model

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
)

// Variant is one alternative configuration the Trainer tries besides its
// own options (see TrainerOptions.Variants). A zero field keeps the
// options' value; the fields mean what the TrainerOptions fields of the
// same names mean. It is a plain value, safe to copy and share.
type Variant struct {
	// Name identifies the variant in Info.Candidates; empty means
	// "variant N" (N counting from 1).
	Name         string
	WordNGrams   int
	NoCharNGrams bool
	CharMin      int
	CharMax      int
	MinDF        int
	L2           float64
	Margin       float64
	Epochs       int
}

// Candidate is how one configuration scored on held-out data when the
// Trainer chose among several (a plain value).
type Candidate struct {
	// Name is "base" for the Trainer's own options, else the Variant's.
	Name string `json:"name"`
	// Score is the held-out accuracy (single-label) or micro-F1 at the
	// decision threshold (multi-label) of the candidate's fold models, NLL
	// their calibrated held-out negative log-likelihood (per example, or per
	// example-label pair), N the number of held-out predictions.
	Score float64 `json:"score"`
	NLL   float64 `json:"nll"`
	N     int     `json:"n"`
	// Chosen marks the configuration the final model was trained with.
	Chosen bool `json:"chosen,omitempty"`
}

// Apply returns o changed by v, without variants of its own: the options a
// Trainer choosing v trains its final model with.
func (v Variant) Apply(o TrainerOptions) TrainerOptions { return o.with(v) }

// with returns o changed by v (and no variants of its own).
func (o TrainerOptions) with(v Variant) TrainerOptions {
	o.Variants = nil
	if v.WordNGrams > 0 {
		o.WordNGrams = v.WordNGrams
	}
	if v.NoCharNGrams {
		o.NoCharNGrams = true
	}
	if v.CharMin > 0 {
		o.CharMin = v.CharMin
	}
	if v.CharMax > 0 {
		o.CharMax = v.CharMax
	}
	if o.CharMax < o.CharMin {
		o.CharMax = o.CharMin
	}
	if v.MinDF > 0 {
		o.MinDF = v.MinDF
	}
	if v.L2 != 0 {
		o.L2 = max(v.L2, 0)
	}
	if v.Margin != 0 {
		o.Margin = max(v.Margin, 0)
	}
	if v.Epochs > 0 {
		o.Epochs = v.Epochs
	}
	return o
}

// fitSelected trains the fold models of the base options and of every
// variant on the same calibration folds (all of them concurrently, on
// Workers goroutines), calibrates each candidate on its held-out
// predictions, keeps the one with the best held-out score (ties: lower
// NLL, then the earlier candidate, the base first), and trains the final
// model on all of data with it. The fold models are the calibration's: the
// winner's calibration is the final model's.
func (t *Trainer) fitSelected(ctx context.Context, data []Example, labels []string, multi bool, threshold float64,
	tune bool, progress func(Progress)) (*Classifier, error) {
	o := t.opts
	li := labelIndex(labels)
	trainers := []*Trainer{{opts: o.with(Variant{})}}
	names := []string{"base"}
	for i, v := range o.Variants {
		trainers = append(trainers, &Trainer{opts: o.with(v)})
		names = append(names, cmp.Or(v.Name, fmt.Sprintf("variant %d", i+1)))
	}
	ft := make([]*Trainer, len(trainers))
	for i, tr := range trainers {
		ft[i] = tr.forFolds(len(data))
	}
	folds, m := foldPlan(data)
	models, err := startFolds(ctx, ft, folds, m, multi, threshold, o.Workers)()
	if err != nil {
		return nil, err
	}
	cands := make([]Candidate, len(trainers))
	cals := make([]Calibration, len(trainers))
	ths := make([]float64, len(trainers))
	best := -1
	for i := range trainers {
		h := &heldOut{K: len(labels)}
		for f, mc := range models[i] {
			if mc != nil {
				h.add(mc, folds[f], li)
			}
		}
		cals[i] = identityCal()
		if h.n() >= calMinFit {
			cals[i] = fitCalibration(h, multi)
		}
		ths[i] = threshold
		if tune && h.n() > 0 {
			ths[i] = tuneThreshold(h, cals[i])
		}
		cands[i] = scoreHeldOut(h, cals[i], multi, ths[i])
		cands[i].Name = names[i]
		if best < 0 || cands[i].Score > cands[best].Score+1e-12 ||
			(math.Abs(cands[i].Score-cands[best].Score) <= 1e-12 && cands[i].NLL < cands[best].NLL) {
			best = i
		}
	}
	cands[best].Chosen = true
	w := trainers[best]
	c, err := w.fit(ctx, data, labels, multi, ths[best], w.opts.tokens(), progress)
	if err != nil {
		return nil, err
	}
	c.setCalibration(cals[best])
	c.info.Candidates = cands
	return c, nil
}

// scoreHeldOut scores calibrated held-out predictions: accuracy and NLL
// per example for a single-label model (examples whose label the scoring
// model did not know count as wrong and are left out of the NLL),
// micro-F1 at threshold th and NLL per known example-label pair for a
// multi-label one.
func scoreHeldOut(h *heldOut, cal Calibration, multi bool, th float64) Candidate {
	K := h.K
	p := make([]float64, K)
	var c Candidate
	var tp, fp, fn, right, nllN int
	for i, ys := range h.truth {
		z := h.logit[i*K : i*K+K]
		// unknown labels get no probability
		for k, v := range z {
			p[k] = v
			if math.IsNaN(v) {
				p[k] = math.Inf(-1)
			}
		}
		if multi {
			cal.apply(p, true)
			for k, v := range p {
				if math.IsNaN(z[k]) {
					if slices.Contains(ys, int32(k)) {
						fn++
					}
					continue
				}
				y := slices.Contains(ys, int32(k))
				pred := v >= th
				switch {
				case pred && y:
					tp++
				case pred:
					fp++
				case y:
					fn++
				}
				if y {
					c.NLL -= math.Log(max(v, 1e-300))
				} else {
					c.NLL -= math.Log(max(1-v, 1e-300))
				}
				nllN++
			}
			c.N++
			continue
		}
		if len(ys) != 1 {
			continue
		}
		c.N++
		y := ys[0]
		if math.IsNaN(z[y]) {
			continue
		}
		cal.apply(p, false)
		top := 0
		for k, v := range p {
			if v > p[top] {
				top = k
			}
		}
		if top == int(y) {
			right++
		}
		c.NLL -= math.Log(max(p[y], 1e-300))
		nllN++
	}
	if multi {
		c.Score = f1(tp, fp, fn)
	} else if c.N > 0 {
		c.Score = float64(right) / float64(c.N)
	}
	if nllN > 0 {
		c.NLL /= float64(nllN)
	}
	return c
}
