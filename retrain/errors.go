package retrain

import (
	"errors"
	"fmt"
)

// ErrBusy is returned by Run, at once, when another run holds the lock: a Run
// of the same Retrainer in another goroutine, or a run in another process on
// the same root.
var ErrBusy = errors.New("retrain: another run is in progress")

// StageError reports which step of Run failed: "lock", "trigger", "load",
// "merge", "train", "evaluate", "save", "deploy", "verify" or "rollback".
// (The gate's verdict is a result, and a failed watermark commit or prune
// after a deploy is a warning in Record.Warnings.) A canceled run fails with the stage it was in and an Err that
// matches context.Canceled or context.DeadlineExceeded.
type StageError struct {
	Stage string
	Err   error
}

// Error reports the stage and the underlying error.
func (e *StageError) Error() string { return "retrain: " + e.Stage + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *StageError) Unwrap() error { return e.Err }

// PanicError is the error a recovered panic in a Trainer, a Classifier or a
// Trigger turns into; the run fails instead of crashing the process.
type PanicError struct {
	Value any
}

// Error reports the recovered panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("retrain: panic: %v", e.Value) }
