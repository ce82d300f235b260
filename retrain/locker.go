package retrain

import (
	"context"
	"encoding/json"
	"time"
)

// Locker keeps retraining runs from overlapping: one run at a time across
// goroutines, processes and hosts sharing the same stores.
//   - Lock takes the exclusive lock for the run h without waiting; it returns
//     an error matching ErrBusy while another holder has the lock, shared or
//     exclusive. The lock is freed when its holder dies (process killed, host
//     or connection gone), never left stale. When the previous exclusive
//     holder died before unlocking, Lock returns its Holder as dead (once:
//     the next Lock after this one reports nothing unless this holder dies
//     too); otherwise dead is nil. unlock releases the lock and is safe to
//     call more than once.
//   - RLock takes a shared lock without waiting, for a dry run that must not
//     read what a real run is changing; it returns ErrBusy while an exclusive
//     holder has the lock, and writes nothing.
//   - Holder reports the exclusive holder without taking the lock (held is
//     false when the lock is free).
//
// Implementations must be safe for concurrent use. NewFileLocker is the
// default of Open.
type Locker interface {
	Lock(ctx context.Context, h Holder) (unlock func() error, dead *Holder, err error)
	RLock(ctx context.Context) (unlock func() error, err error)
	Holder(ctx context.Context) (h Holder, held bool, err error)
}

// Holder describes a run that holds, or held, the lock.
type Holder struct {
	RunID string `json:"retrain_id"`
	PID   int    `json:"pid"`
	// Host is the holder's host name, when the Locker spans hosts.
	Host    string    `json:"host,omitempty"`
	Started time.Time `json:"started"`
}

// MarshalJSON writes Started in UTC RFC 3339 with microseconds.
func (h Holder) MarshalJSON() ([]byte, error) {
	type plain Holder // without this method
	return json.Marshal(struct {
		Started string `json:"started"`
		plain
	}{formatTime(h.Started), plain(h)})
}
