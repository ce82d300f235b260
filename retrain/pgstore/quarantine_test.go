package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/retrain/pgstore"
	"moodfood/retrain/retraintest"
)

// TestRetrainer_QuarantineOutlivesTheProcess: the samples a run
// quarantines are kept in the database, so that the next cronjob process
// (a fresh Retrainer over the same schema) leaves them out too instead of
// training on them once the watermark has passed them; a run deletes the
// ones older than Config.UserTextRetention.
func TestRetrainer_QuarantineOutlivesTheProcess(t *testing.T) {
	ctx := context.Background()
	db, url := openDB(t, nil)
	ds, _ := db.Dataset(nil)
	base := intentSamples(30)
	if err := ds.SetBase(ctx, base); err != nil {
		t.Fatal(err)
	}
	old := []dataset.Sample{{Text: "an old secret", Labels: []string{"mood_happy"}, Source: dataset.SourceFeedback}}
	if err := db.Quarantine().Add(ctx, time.Now().AddDate(-2, 0, 0), "retrain_old", retrain.QuarantineSetAside, "", old); err != nil {
		t.Fatal(err)
	}
	if res, err := openRetrainer(t, url, db.Schema()).Run(ctx, retrain.RunOptions{Force: true}); err != nil || !res.Deployed {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	if k, err := db.Quarantine().Keys(ctx); err != nil || len(k) != 0 {
		t.Fatalf("quarantine after the first run: %d keys, %v; want the sample older than the retention deleted", len(k), err)
	}
	// Confirmed ML answers that give base texts another intent: the
	// deployed model and the base set both disagree.
	flip := map[string]string{"meal_dinner": "goal_comfort", "goal_comfort": "mood_happy", "mood_happy": "meal_dinner"}
	yes := true
	var qs []dataset.Query
	for i, s := range base {
		if i%2 == 0 {
			qs = append(qs, dataset.Query{Text: s.Text, Method: dataset.MethodML, PrimaryIntent: flip[s.Labels[0]],
				Confidence: 0.95, Positive: &yes, SessionID: "mallory"})
		}
	}
	for i := range 15 {
		qs = append(qs, dataset.Query{Text: fmt.Sprintf("hot soup and a warm blanket tonight %d", i), Method: dataset.MethodLLM, LLMLabels: []string{"goal_comfort"}})
	}
	logAll(t, db, qs)
	res, err := openRetrainer(t, url, db.Schema()).Run(ctx, retrain.RunOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	q := res.Record.DatasetQuality.Quarantined
	if q < 30 || !res.Deployed {
		t.Fatalf("second run quarantined %d of the 45 contradicting samples (want most), outcome %s: %s", q, res.Outcome, res.Reason)
	}
	// The watermark is past them: only the quarantine can keep them out.
	res, err = openRetrainer(t, url, db.Schema()).Run(ctx, retrain.RunOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Record.DatasetQuality.Quarantined; got != q {
		t.Fatalf("a new process left out %d samples, want the %d quarantined earlier (it trained on them again)", got, q)
	}
	var rows int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM quarantine WHERE reason = 'disagreement' AND sample->>'source' = 'feedback'`, &rows); err != nil || rows != q {
		t.Fatalf("%d quarantine rows to review (%v), want %d", rows, err, q)
	}
}

func TestQuarantine(t *testing.T) {
	retraintest.TestQuarantine(t, func(t *testing.T) func() retrain.Quarantine {
		db, url := openDB(t, nil)
		return func() retrain.Quarantine {
			other, err := pgstore.Open(context.Background(), url, &pgstore.Options{Schema: db.Schema()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Close() })
			return other.Quarantine()
		}
	})
}
