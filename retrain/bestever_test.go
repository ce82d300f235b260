package retrain_test

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"io"
	"strings"
	"testing"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain"
)

// slowTrainer trains classifiers that are right on a share of texts that
// falls by step with every candidate: a slow attack that stays under the
// gate's per-run tolerance (MaxAccuracyDrop 0.01).
type slowTrainer struct {
	next  float64 // the share the next candidate gets right
	truth map[string]string
}

// slowClassifier answers right on a share Right of the texts (by a hash).
type slowClassifier struct {
	Right float64           `json:"right"`
	Truth map[string]string `json:"truth"`
}

func (c *slowClassifier) Predict(text string) model.Prediction {
	h := fnv.New32a()
	io.WriteString(h, text)
	label := c.Truth[text]
	if float64(h.Sum32()%10000)/10000 >= c.Right { // the other label
		label = map[string]string{"a": "b", "b": "a"}[label]
	}
	return model.Prediction{Label: label, Labels: []string{label}, Confidence: 0.9}
}

func (c *slowClassifier) Labels() []string { return []string{"a", "b"} }

func (c *slowClassifier) Encode(w io.Writer) error { return json.NewEncoder(w).Encode(c) }

func (t *slowTrainer) Train(context.Context, []model.Example, func(model.Progress)) (retrain.Classifier, error) {
	return &slowClassifier{Right: t.next, Truth: t.truth}, nil
}

func (t *slowTrainer) Decode(r io.Reader) (retrain.Classifier, error) {
	var c slowClassifier
	err := json.NewDecoder(r).Decode(&c)
	return &c, err
}

// TestRun_SlowAttackStopsAtBestEver: candidates each 0.8 points worse than
// the deployed model pass the per-run gate, but not once they are more
// than MaxBestEverDrop (2 points) below the best model ever deployed on the
// golden set.
func TestRun_SlowAttackStopsAtBestEver(t *testing.T) {
	ctx := context.Background()
	data := &memData{base: samples(800, dataset.SourceSeed, "a", "b"), golden: samples(1500, dataset.SourceHuman, "a", "b")}
	truth := map[string]string{}
	for _, s := range append(append([]dataset.Sample{}, data.base...), data.golden...) {
		truth[s.Text] = s.Labels[0]
	}
	const step = 0.006
	tr := &slowTrainer{next: 1, truth: truth}
	e := &env{data: data, dir: t.TempDir(), events: &eventLog{}}
	e.models = backup.NewMemStore()
	e.r2(t, func(c *retrain.Config) {
		c.Trainer = tr
		c.Gate.MaxIntentF1Drop = -1
	})
	deployed, byBest := 0, 0
	var lastAcc float64
	for run := 0; run < 8; run++ {
		res, err := e.r.Run(ctx, retrain.RunOptions{Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Deployed {
			deployed++
			lastAcc = res.Record.NewMetrics["golden_accuracy"]
			tr.next -= step // the attack goes on from the new model
		}
		if strings.Contains(res.Reason, "_vs_best") && !strings.Contains(res.Reason, "_delta") {
			byBest++
		}
		t.Logf("run %d: %s (best ever %+v)", run, res.Reason, res.Record.BestEver)
	}
	first := e.history(t)[0].NewMetrics["golden_accuracy"]
	if lastAcc < first-0.02-1e-9 {
		t.Errorf("slow attack accumulated: golden accuracy %.4f deployed, best ever %.4f", lastAcc, first)
	}
	if deployed < 3 || byBest == 0 {
		t.Errorf("%d runs deployed, %d stopped by the best-ever check alone; want small drops to pass until they add up", deployed, byBest)
	}
}
