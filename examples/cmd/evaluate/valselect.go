package main

import (
	"context"

	"moodfood/model"
)

// valScore is how one configuration scored on the -val data.
type valScore struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score"` // accuracy, or micro-F1 for multi-label data
	Chosen bool    `json:"chosen,omitempty"`
}

// chooseOnVal trains the base options and each of variants on train, scores
// each on val (accuracy; micro-F1 when the model is multi-label), and
// returns the options of the best (ties: the earlier, the base first) with
// the scores. Nothing here sees the test data.
func chooseOnVal(ctx context.Context, base model.TrainerOptions, variants []model.Variant, train, val []model.Example) (model.TrainerOptions, []valScore, error) {
	cands := append([]model.Variant{{Name: "base"}}, variants...)
	scores := make([]valScore, len(cands))
	best := 0
	var bestOpts model.TrainerOptions
	for i, v := range cands {
		o := v.Apply(base)
		c, err := model.NewTrainer(&o).Train(ctx, train, nil)
		if err != nil {
			return base, nil, err
		}
		r := model.Evaluate(c, val, nil)
		s := r.Accuracy
		if c.Info().MultiLabel {
			s = r.MicroF1
		}
		scores[i] = valScore{Name: v.Name, Score: s}
		if i == 0 || s > scores[best].Score {
			best, bestOpts = i, o
		}
	}
	scores[best].Chosen = true
	return bestOpts, scores, nil
}
