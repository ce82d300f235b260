// Package report shows what the retraining loop did: a Loader reads the
// run history, the stored model versions, the pending sample count, the
// query log's per-day counts and, in a serving process, the serving stats
// into a Data; Charts turns it into chart data (scores per run with
// deployed/rejected/rolled-back markers, dataset size by source, training
// duration, LLM fallback rate and ML-route precision per day, per-intent F1
// against the previous version, the reliability diagram of the deployed
// model); RenderSVG draws a chart as accessible inline SVG; and Page writes
// the whole dashboard as one self-contained HTML file (no script, no
// external resource), the same bytes that a server's GET /dashboard answers
// and `cronjob report --html` writes. RowOf formats one run for history
// tables.
//
// Cost: the Loader keeps the parsed history until its newest record changes,
// refreshes the pending count in the background once it is older than
// LoaderConfig.PendingTTL, and expects LoaderConfig.Days to read only what
// the query log gained (dataset.LogStats does), so a page costs about the
// same on a root with a long history and a large query log as on a small
// one once the first load has read them.
package report
