package retrain

import (
	"context"
	"io"

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
//   - Commit advances the committed mark; it is called only after a deploy.
//     Committing a mark at or before the current one is a no-op.
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
