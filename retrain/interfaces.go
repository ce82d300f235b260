package retrain

import (
	"context"
	"io"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/trigger"
)

// Trigger decides whether a run should train. See package trigger for the
// policies; trigger.TriggerFunc adapts a function.
type Trigger = trigger.Trigger

// DatasetStore gives a run its data.
//   - Snapshot exports new good samples from the query log, then returns the
//     base set, the exported samples (split into old and new at the committed
//     mark), the golden set and the mark to commit.
//   - Commit advances the committed mark; it is called only after a deploy
//     (not at all when the ModelStore commits the mark in the deploy's
//     transaction: see MarkDeployer). Committing a mark at or before the
//     current one is a no-op.
//   - Pending returns the number of new samples cheaply (no full parse).
//
// Implementations must be safe for concurrent use.
type DatasetStore interface {
	Snapshot(ctx context.Context) (dataset.Snapshot, error)
	Commit(ctx context.Context, m dataset.Mark) error
	Pending(ctx context.Context) (int, error)
}

// Classifier is a trained model as the Retrainer sees it.
type Classifier interface {
	model.Predictor
	// Encode writes the model in a form Trainer.Decode reads back.
	Encode(w io.Writer) error
}

// Trainer trains classifiers and reads them back from their encoding.
//   - Train must return ctx.Err() promptly once ctx is canceled; progress may
//     be nil and is called synchronously.
//   - Decode must return an error, never panic, on corrupt input.
type Trainer interface {
	Train(ctx context.Context, data []model.Example, progress func(model.Progress)) (Classifier, error)
	Decode(r io.Reader) (Classifier, error)
}

// ModelStore keeps versioned model artifacts and one deployed pointer.
//   - Put makes nothing visible unless it returns nil; a failed or canceled
//     Put changes nothing. It fills the manifest's Version, Created and Files.
//   - Open returns errors matching backup.ErrNotFound or backup.ErrCorrupt
//     (the body's checksum is verified before or while it is read).
//   - List is newest first and never shows incomplete versions.
//   - Deploy is atomic: Current reports the old or the new version, never
//     neither. Current returns backup.ErrNoCurrent when nothing is deployed.
//
// Implementations must be safe for concurrent use.
type ModelStore interface {
	Put(ctx context.Context, m backup.Manifest, body io.Reader) (backup.Manifest, error)
	Open(ctx context.Context, v backup.Version) (backup.Manifest, io.ReadCloser, error)
	List(ctx context.Context) ([]backup.Manifest, error)
	Deploy(ctx context.Context, v backup.Version) error
	Current(ctx context.Context) (backup.Version, error)
}

// Notifier is told about the events of a run that a person may want to hear
// about: run.started, run.skipped, run.failed, gate.rejected, model.deployed
// and model.rolled_back (see Event). Notify is called synchronously from Run
// and Rollback with a context bounded by Config.NotifyTimeout; an error or a
// panic is logged and never fails the run, and a Notifier that ignores its
// context is abandoned when the timeout expires. Implementations must be safe for
// concurrent use.
type Notifier interface {
	Notify(ctx context.Context, e Event) error
}

// NotifierFunc adapts a function to the Notifier interface.
type NotifierFunc func(ctx context.Context, e Event) error

// Notify calls f(ctx, e).
func (f NotifierFunc) Notify(ctx context.Context, e Event) error { return f(ctx, e) }

// Labeler is an optional interface a Classifier may implement to report the
// labels it can predict. The gate uses it to check that a candidate does not
// drop a label the deployed model knew; without it the label sets are taken
// from the training data (the candidate) and the manifest metrics (the
// deployed model).
type Labeler interface {
	Labels() []string
}

// OOVCounter is an optional interface a Classifier may implement to count the
// tokens of a text it has never seen. The deployed model's counts feed the
// out-of-vocabulary rate of the trigger's signals.
type OOVCounter interface {
	OOV(text string) (unknown, total int)
}

// Signaler is an optional interface a DatasetStore may implement to measure
// live signals over the query log (fallback rate, agreement, OOV rate, intent
// mix) for drift policies: the n most recent windows of length window ending
// at now, oldest first. oov may be nil.
type Signaler interface {
	Signals(ctx context.Context, now time.Time, window time.Duration, n int, oov func(string) (int, int)) ([]trigger.Signals, error)
}

// Reaper is an optional interface a DatasetStore or ModelStore may implement
// to remove what a run that died left behind (temp files, half-written
// versions). Run calls it right after taking the lock when the previous run
// did not finish; an error is logged and never fails the run.
type Reaper interface {
	Reap(ctx context.Context) error
}

// Previewer is an optional interface a DatasetStore may implement to return
// what Snapshot would, without writing anything (no export). Dry runs use it;
// without it a dry run calls Snapshot, whose export may write.
type Previewer interface {
	Preview(ctx context.Context) (dataset.Snapshot, error)
}
