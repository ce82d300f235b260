package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns an empty registry for the caller to own (no default
// collectors, nothing global), so that a program can register the
// collectors of this package without importing client_golang itself.
func NewRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

// Handler serves g's metrics in the Prometheus exposition format
// (promhttp.HandlerFor); a collector's error is reported in the response
// and the other metrics are still served.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
