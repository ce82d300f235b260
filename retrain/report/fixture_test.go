package report_test

import (
	"fmt"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/retrain/report"
	"moodfood/retrain/serve"
	"moodfood/trigger"
)

// fixture is a Data with every section filled: 12 runs over 12 days
// (deploys, a rejection, a failure, skips, a canary rollback), two
// versions, 10 days of query-log counts and a serving process with a
// canary and a shadow.
func fixture() *report.Data {
	t0 := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }
	outcomes := []trigger.Outcome{"deployed", "skipped", "rejected", "deployed", "failed", "skipped",
		"deployed", "rolled_back", "skipped", "deployed", "rejected", "skipped"}
	var runs []retrain.Record
	version := 0
	prev := backup.Version("")
	for i, o := range outcomes {
		r := retrain.Record{RetrainID: fmt.Sprintf("retrain_202603%02d_030000_%06x", i+1, i), Timestamp: t0.AddDate(0, 0, i), Status: o,
			Reason: "reason of run " + fmt.Sprint(i), DurationSeconds: 0.5}
		if o != "skipped" && o != "failed" {
			n := 400 + 25*i
			r.DatasetQuality = retrain.DatasetQuality{TotalEntries: n, TrainSamples: n * 8 / 10, HoldoutSamples: n / 5,
				NewSamples: 20 + i, BaseSamples: 400, Sources: map[string]int{"seed": 400, "llm": 20 * i, "feedback": 5 * i},
				AccuracyImprovement: 0.01 * float64(i%3-1)}
			r.NewMetrics = map[string]float64{"accuracy": 0.70 + 0.01*float64(i), "macro_f1": 0.65 + 0.012*float64(i), "ece": 0.05}
			r.Durations = []retrain.StageDuration{{Stage: "load", Seconds: 0.2}, {Stage: "train", Seconds: 10 + float64(i)}}
			r.DurationSeconds = 12 + float64(i)
			r.OldVersion = prev
		}
		if o == "deployed" {
			version++
			r.NewVersion = backup.Version(fmt.Sprintf("model_backup_202603%02d_030000_%06d", i+1, version))
			prev = r.NewVersion
		}
		if o == "rolled_back" {
			r.RolledBackTo = prev
		}
		runs = append(runs, r)
	}
	last := &runs[9] // the last deploy: its evaluation is the deployed model's
	last.Evaluation = &retrain.Evaluation{
		Intents: []retrain.IntentF1{
			{Intent: "emotion_sad", Support: 30, F1: 0.91, OldF1: f(0.85)},
			{Intent: "goal_comfort", Support: 25, F1: 0.72, OldF1: f(0.80)},
			{Intent: "meal_dinner", Support: 40, F1: 0.88, OldF1: f(0.88)},
			{Intent: "weather_rainy", Support: 12, F1: 0.60},
		},
		Confusions: nil,
		Reliability: []retrain.ReliabilityBin{
			{Lo: 0, Hi: 0.5, N: 0},
			{Lo: 0.5, Hi: 0.75, N: 40, Confidence: 0.62, Accuracy: 0.55},
			{Lo: 0.75, Hi: 1, N: 140, Confidence: 0.9, Accuracy: 0.93},
		},
	}
	dep := backup.Manifest{Version: last.NewVersion, Created: last.Timestamp, RunID: last.RetrainID,
		Metrics: map[string]float64{"accuracy": 0.79, "macro_f1": 0.758, "routing_threshold": 0.42}}
	older := backup.Manifest{Version: runs[6].NewVersion, Created: runs[6].Timestamp, RunID: runs[6].RetrainID,
		Metrics: map[string]float64{"accuracy": 0.76}}
	var days []dataset.DayStats
	for i := range 10 {
		days = append(days, dataset.DayStats{Day: t0.AddDate(0, 0, i+2).Truncate(24 * time.Hour), Queries: 1000 + 10*i,
			LLM: 200 - 10*i, Compared: 180 - 10*i, Agreed: 150 - 5*i, Feedback: 50, Positive: 40, MLFeedback: 40, MLPositive: 30 + i})
	}
	days[4].MLFeedback, days[4].MLPositive = 0, 0 // a day without feedback on ML answers
	return &report.Data{
		Generated: t0.AddDate(0, 0, 12), Title: "moodfood test root",
		Runs: runs, Deployed: &dep, Backups: []backup.Manifest{dep, older}, Pending: 17, Days: days,
		Serving: &serve.Stats{Deployed: dep.Version, Queries: 1234, Threshold: 0.42,
			Canary: &serve.CanaryStats{Version: "model_backup_canary", ControlVersion: dep.Version, Fraction: 0.1,
				Canary: serve.Counts{Queries: 100}, Control: serve.Counts{Queries: 900}},
			Shadow: &serve.ShadowStats{Version: "model_backup_shadow", Queries: 1000, Disagreements: 50, DisagreementRate: 0.05}},
	}
}
