package pgstore_test

import (
	"context"
	"fmt"
	"testing"

	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/trigger"
)

// intentTexts makes n distinct texts per intent from the intent's words.
func intentSamples(n int) []dataset.Sample {
	words := map[string][]string{
		"meal_dinner":  {"dinner", "supper", "evening", "meal", "tonight"},
		"goal_comfort": {"cozy", "warm", "soup", "comfort", "blanket"},
		"mood_happy":   {"happy", "great", "joy", "sunny", "cheerful"},
	}
	var out []dataset.Sample
	for label, ws := range words {
		for i := range n {
			out = append(out, dataset.Sample{Text: fmt.Sprintf("%s %s %s item %d", ws[i%5], ws[(i+1)%5], ws[(i+2)%5], i),
				Labels: []string{label}, Source: dataset.SourceSeed})
		}
	}
	return out
}

// openRetrainer opens a Retrainer on db's schema, as cronjob does with
// --database-url.
func openRetrainer(t *testing.T, url, schema string) *retrain.Retrainer {
	t.Helper()
	return openRetrainerWith(t, url, schema, nil)
}

// TestRetrainer_OnPostgreSQL: the whole loop on the database: runs train,
// deploy and commit; the next run skips; Status and the history read back;
// a manual rollback restores the previous version.
func TestRetrainer_OnPostgreSQL(t *testing.T) {
	ctx := context.Background()
	db, url := openDB(t, nil)
	ds, _ := db.Dataset(nil)
	if err := ds.SetBase(ctx, intentSamples(20)); err != nil {
		t.Fatal(err)
	}
	var qs []dataset.Query
	for i := range 30 {
		qs = append(qs, dataset.Query{Text: fmt.Sprintf("warm soup blanket please %d", i), Method: dataset.MethodLLM, LLMLabels: []string{"goal_comfort"}})
	}
	logAll(t, db, qs)

	r := openRetrainer(t, url, db.Schema())
	res, err := r.Run(ctx, retrain.RunOptions{Force: true})
	if err != nil || !res.Deployed {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	if res.Record.DatasetQuality.NewSamples != 30 {
		t.Errorf("new samples = %d, want 30", res.Record.DatasetQuality.NewSamples)
	}
	if n, err := ds.Pending(ctx); err != nil || n != 0 {
		t.Errorf("Pending after the deploy = %d, %v; want 0 (watermark committed)", n, err)
	}
	res2, err := openRetrainer(t, url, db.Schema()).Run(ctx, retrain.RunOptions{})
	if err != nil || !res2.Skipped {
		t.Fatalf("second run: %+v, %v; want skipped", res2, err)
	}
	// New data, so that the forced run trains something new (on unchanged
	// data it would find its candidate byte-identical and store nothing).
	qs = qs[:0]
	for i := range 10 {
		qs = append(qs, dataset.Query{Text: fmt.Sprintf("cosy blanket and hot soup tonight %d", i), Method: dataset.MethodLLM, LLMLabels: []string{"goal_comfort"}})
	}
	logAll(t, db, qs)
	res3, err := r.Run(ctx, retrain.RunOptions{Force: true})
	if err != nil || res3.Outcome != trigger.OutcomeDeployed {
		t.Fatalf("third run: %+v, %v", res3, err)
	}
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Deployed == nil || st.Deployed.Version != res3.NewVersion || !st.Deployed.Intact || len(st.Backups) != 2 || st.Running {
		t.Fatalf("Status = %+v", st)
	}
	p, err := db.History().List(ctx, retrain.HistoryFilter{})
	if err != nil || len(p.Records) != 3 || p.Records[0].RetrainID != res3.RunID {
		t.Fatalf("history = %+v, %v", p, err)
	}
	rb, err := r.Rollback(ctx, "")
	if err != nil {
		t.Fatalf("Rollback = %+v, %v", rb, err)
	}
	if cur, _ := db.Models().Current(ctx); cur != res.NewVersion {
		t.Fatalf("deployed after rollback = %s, want %s", cur, res.NewVersion)
	}
}
