// Package metrics exposes moodfood's serving and retraining numbers as
// Prometheus metrics. It is the only package of the module that imports
// github.com/prometheus/client_golang: serving (retrain/serve) and
// retraining (retrain, retrain/report) expose plain snapshot functions,
// and the collectors here read them at each scrape.
//
// Nothing is registered globally: the caller registers a ServingCollector
// and a RetrainCollector on its own prometheus.Registry (RegisterServing,
// RegisterRetrain) and serves it (promhttp.HandlerFor) or, from a cron job
// that has no port to scrape, writes it for node_exporter's textfile
// collector with WriteTextfile (atomically, fsynced).
//
// The metric names and labels are listed on NewServingCollector and
// NewRetrainCollector; alerts.yml in this directory holds example alerting
// rules over them (a failing run, no deploy for days, a rising fallback
// rate, query-log drops), checked by `promtool check rules` and unit-tested
// with `promtool test rules` when promtool is installed.
package metrics
