package serve

import (
	"context"
	"io"

	"moodfood/backup"
	"moodfood/dataset"
)

// Source is the versioned model store as a Server uses it. *backup.FileStore
// satisfies it.
//   - Current returns the deployed version, or an error matching
//     backup.ErrNoCurrent when nothing is deployed.
//   - Open returns a version's manifest and model body. A checksum mismatch
//     surfaces as an error matching backup.ErrCorrupt from Open, from a Read
//     of the body (at EOF at the latest) or from Close.
//   - Deploy makes v the deployed version atomically; it is used only by
//     PromoteCanary and by the watchdog's rollback.
//   - Stamp is cheap and changes whenever the deployed version changes; the
//     Server polls it and calls Current only when it changed. An error
//     (backup.ErrNoCurrent included) counts as a change.
//
// Implementations must be safe for concurrent use.
type Source interface {
	Current(ctx context.Context) (backup.Version, error)
	Open(ctx context.Context, v backup.Version) (backup.Manifest, io.ReadCloser, error)
	Deploy(ctx context.Context, v backup.Version) error
	Stamp() (string, error)
}

// QueryLogger receives what the Server serves: every query, and every
// feedback. *dataset.Logger satisfies it. Both methods are called
// synchronously on the serving path and must be quick (buffer, and flush
// elsewhere). Implementations must be safe for concurrent use.
type QueryLogger interface {
	Log(q dataset.Query) error
	Feedback(f dataset.Feedback) error
}

// discardLog is the QueryLogger used when none is given.
type discardLog struct{}

func (discardLog) Log(dataset.Query) error         { return nil }
func (discardLog) Feedback(dataset.Feedback) error { return nil }

// LLM is the fallback teacher asked when the model is unsure. Label returns
// the labels of text (an empty list means "no intent") and a confidence in
// [0, 1] (0 when the LLM gives none).
//
// Label must return promptly once ctx is done: the Server bounds each call
// with Options.LLMTimeout and calls Label on the serving goroutine, so an
// implementation that ignores ctx delays the answer (its late result is then
// discarded as a timeout). Implementations must be safe for concurrent use.
type LLM interface {
	Label(ctx context.Context, text string) (labels []string, confidence float64, err error)
}

// LLMFunc adapts a function to the LLM interface.
type LLMFunc func(ctx context.Context, text string) ([]string, float64, error)

// Label calls f(ctx, text).
func (f LLMFunc) Label(ctx context.Context, text string) ([]string, float64, error) {
	return f(ctx, text)
}
