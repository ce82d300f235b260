package metrics

import (
	"fmt"
	"io"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"moodfood/internal/atomicfile"
)

// WriteTextfile gathers g and replaces path with the metrics in the
// Prometheus text format, for node_exporter's textfile collector (a cron job
// has no port to scrape). The file is written like every file the library
// replaces: a temp file in the same directory, fsynced, renamed over path,
// and the directory fsynced, so node_exporter never reads a partial file
// (client_golang's WriteToTextfile does not fsync). node_exporter reads
// files ending in ".prom"; perm is the file's mode (node_exporter usually
// runs as another user and needs read access).
func WriteTextfile(path string, perm os.FileMode, g prometheus.Gatherer) error {
	mfs, err := g.Gather()
	if err != nil {
		return fmt.Errorf("metrics: gather: %w", err)
	}
	err = atomicfile.WriteFile(path, perm, func(w io.Writer) error {
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("metrics: write %s: %w", path, err)
	}
	return nil
}
