package report

import (
	"fmt"
	"strconv"

	"moodfood/retrain"
	"moodfood/trigger"
)

// Row is one run as a history table shows it (the page, `cronjob
// history`). Numbers a run does not have are empty strings.
type Row struct {
	Date     string `json:"date"`
	Outcome  string `json:"outcome"`
	Samples  string `json:"samples"`
	Accuracy string `json:"accuracy"`
	MacroF1  string `json:"macro_f1"`
	// Delta is the accuracy change against the deployed model (or
	// against zero when nothing was deployed), as the gate saw it.
	Delta        string `json:"delta"`
	TrainSeconds string `json:"train_seconds"`
	// Version is the version the run stored, or the version a rollback
	// deployed.
	Version string `json:"version"`
	Reason  string `json:"reason"`
}

// RowHeader is the column names of Row, in order.
var RowHeader = []string{"date (UTC)", "outcome", "samples", "accuracy", "macro-F1", "Δ acc", "train s", "version", "reason"}

// Cells returns the row's columns in RowHeader order.
func (r Row) Cells() []string {
	return []string{r.Date, r.Outcome, r.Samples, r.Accuracy, r.MacroF1, r.Delta, r.TrainSeconds, r.Version, r.Reason}
}

// RowOf formats one record.
func RowOf(r *retrain.Record) Row {
	row := Row{Date: r.Timestamp.UTC().Format("2006-01-02 15:04:05"), Outcome: string(r.Status), Reason: r.Reason}
	if r.Manual {
		row.Outcome += " (manual)"
	}
	if r.DatasetQuality.TotalEntries > 0 {
		row.Samples = strconv.Itoa(r.DatasetQuality.TotalEntries)
	}
	if v, ok := r.NewMetrics["accuracy"]; ok {
		row.Accuracy = fmt.Sprintf("%.4f", v)
		row.Delta = fmt.Sprintf("%+.4f", r.DatasetQuality.AccuracyImprovement)
	}
	if v, ok := r.NewMetrics["macro_f1"]; ok {
		row.MacroF1 = fmt.Sprintf("%.4f", v)
	}
	if s, ok := stageSeconds(r, "train"); ok {
		row.TrainSeconds = fmt.Sprintf("%.1f", s)
	}
	row.Version = string(r.NewVersion)
	if r.Status == trigger.OutcomeRolledBack && r.RolledBackTo != "" {
		row.Version = string(r.RolledBackTo)
	}
	return row
}
