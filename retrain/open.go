package retrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/internal/nofollow"
	"moodfood/model"
	"moodfood/trigger"
)

// Options tunes Open. A nil *Options and every zero field mean the default in
// the field's comment; the fields shared with Config mean the same there.
type Options struct {
	// Trigger decides when to retrain (nil = DefaultTrigger(): the seed's
	// 30 days since the last retrain or 50 new samples, held back after a
	// rejected or failed candidate until 7 days or 50 more samples).
	Trigger Trigger
	// Trainer tunes the TF-IDF + logistic regression trainer (nil =
	// model defaults). It is recorded in each version's manifest.
	Trainer *model.TrainerOptions
	// Dataset and Models tune the file stores under ROOT/data and
	// ROOT/models (nil = defaults; Models.Check defaults to a full
	// model.Decode of the body).
	Dataset *dataset.FileStoreOptions
	Models  *backup.FileStoreOptions

	Gate              Gate
	TargetPrecision   float64
	RoutingDelta      float64
	CorrectionsLogged bool
	NoRefit           bool
	HoldoutFraction   float64
	Canaries          []Canary
	Merge             *dataset.MergeOptions
	Retention         backup.Policy
	Notifier          Notifier
	// Locker keeps runs from overlapping (nil = a FileLocker on
	// ROOT/data/logs/retrain.lock).
	Locker Locker
	// History keeps the run records (nil = a FileHistory on
	// ROOT/data/logs/retrain_history.jsonl).
	History       History
	NotifyTimeout time.Duration
	SignalWindow  time.Duration
	SignalWindows int

	// Logger receives the library's log (nil = JSON lines appended to
	// ROOT/data/logs/retrain.log, opened on the first line logged, at
	// LogLevel).
	Logger   *slog.Logger
	LogLevel slog.Leveler
	Now      func() time.Time
	// OnEvent and OnProgress are Config's hooks.
	OnEvent    func(ctx context.Context, e Event)
	OnProgress func(p Progress)
}

// Open returns the embedded default over the root directory (docs/ARCHITECTURE.md §2):
// dataset.FileStore on ROOT/data (a Previewer: dry runs export nothing and
// write nothing), backup.FileStore on ROOT/models, the model
// package's trainer, trigger.Default(), the history in
// ROOT/data/logs/retrain_history.jsonl, the lock (a FileLocker) on
// ROOT/data/logs/retrain.lock unless Options.Locker is set, the log in ROOT/data/logs/retrain.log and the
// cron heartbeat ROOT/data/logs/cron_status.json. It creates the directories
// it needs (0700). Close releases what it opened. Local filesystems only;
// NFS is unsupported.
func Open(root string, opts *Options) (*Retrainer, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("retrain: open %s: %w", root, err)
	}
	logs := filepath.Join(abs, "data", "logs")
	if err := os.MkdirAll(logs, 0o700); err != nil {
		return nil, fmt.Errorf("retrain: open: %w", err)
	}
	ds, err := dataset.OpenFileStore(abs, o.Dataset)
	if err != nil {
		return nil, fmt.Errorf("retrain: open: %w", err)
	}
	var mo backup.FileStoreOptions
	if o.Models != nil {
		mo = *o.Models
	}
	if mo.Check == nil {
		mo.Check = func(r io.Reader) error { _, err := model.Decode(r); return err }
	}
	ms, err := backup.OpenFileStore(filepath.Join(abs, "models"), &mo)
	if err != nil {
		ds.Close()
		return nil, fmt.Errorf("retrain: open: %w", err)
	}
	logFile := &lazyFile{path: filepath.Join(logs, "retrain.log")}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: o.LogLevel}))
	}
	cfg := o.config()
	cfg.Data, cfg.Models = ds, ms
	cfg.HistoryPath = filepath.Join(logs, "retrain_history.jsonl")
	cfg.LockPath = filepath.Join(logs, "retrain.lock")
	cfg.CronStatusPath = filepath.Join(logs, "cron_status.json")
	cfg.QuarantinePath = filepath.Join(logs, "quarantined_samples.jsonl")
	r, err := New(cfg)
	if err != nil {
		ms.Close()
		ds.Close()
		return nil, err
	}
	r.closers = []io.Closer{logFile, ds, ms}
	return r, nil
}

// Stores are the stores OpenStores wires in place of Open's files under a
// root: a database backend (package retrain/pgstore), or any other.
type Stores struct {
	// Data and Models are required.
	Data   DatasetStore
	Models ModelStore
	// Locker keeps runs from overlapping across processes and hosts (nil =
	// this process only). History keeps the run records (nil = in memory).
	Locker  Locker
	History History
	// Quarantine keeps the samples runs leave out (nil = in memory, for
	// the Retrainer's lifetime).
	Quarantine Quarantine
	// Closers are closed by Retrainer.Close, last first.
	Closers []io.Closer
}

// OpenStores returns a Retrainer over s with the defaults of Open: the model
// package's trainer (Options.Trainer), DefaultTrigger(), and every other
// Options field as Open takes it (Options.Dataset, Options.Models and
// Options.Locker/History do not apply; a nil Options.Logger discards the
// log). Close closes s.Closers.
func OpenStores(s Stores, opts *Options) (*Retrainer, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	cfg := o.config()
	cfg.Data, cfg.Models, cfg.Locker, cfg.History = s.Data, s.Models, s.Locker, s.History
	cfg.Quarantine = s.Quarantine
	r, err := New(cfg)
	if err != nil {
		return nil, err
	}
	r.closers = s.Closers
	return r, nil
}

// config is the Config of Open and OpenStores without the stores.
func (o *Options) config() Config {
	var tcfg json.RawMessage
	if o.Trainer != nil {
		tcfg, _ = json.Marshal(o.Trainer)
	} else {
		tcfg = json.RawMessage("{}")
	}
	trig := o.Trigger
	if trig == nil {
		trig = DefaultTrigger()
	}
	return Config{
		Trigger:           trig,
		Trainer:           &modelTrainer{t: model.NewTrainer(o.Trainer)},
		Notifier:          o.Notifier,
		Gate:              o.Gate,
		TargetPrecision:   o.TargetPrecision,
		RoutingDelta:      o.RoutingDelta,
		CorrectionsLogged: o.CorrectionsLogged,
		NoRefit:           o.NoRefit,
		HoldoutFraction:   o.HoldoutFraction,
		Canaries:          o.Canaries,
		Merge:             o.Merge,
		Retention:         o.Retention,
		TrainerConfig:     tcfg,
		Locker:            o.Locker,
		History:           o.History,
		SignalWindow:      o.SignalWindow,
		SignalWindows:     o.SignalWindows,
		NotifyTimeout:     o.NotifyTimeout,
		Logger:            o.Logger,
		Now:               o.Now,
		OnEvent:           o.OnEvent,
		OnProgress:        o.OnProgress,
	}
}

// modelTrainer adapts *model.Trainer and model.Decode to Trainer.
type modelTrainer struct{ t *model.Trainer }

func (m *modelTrainer) Train(ctx context.Context, data []model.Example, progress func(model.Progress)) (Classifier, error) {
	c, err := m.t.Train(ctx, data, progress)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (m *modelTrainer) Decode(r io.Reader) (Classifier, error) {
	c, err := model.Decode(r)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// lazyFile is an append-only log file opened on the first write, so that a
// Retrainer that logs nothing (a dry run) creates nothing.
type lazyFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	err  error
}

func (l *lazyFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil && l.err == nil {
		l.f, l.err = nofollow.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.f.Write(p)
}

func (l *lazyFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f, l.err = nil, errors.New("retrain: log closed")
	return err
}

// DefaultTrigger is the policy Open uses when Options.Trigger is nil: the
// seed's trigger.Default() (a forced run, 50 new samples, or 30 days since the
// last successful retrain) inside a trigger.Cooldown. After a candidate was
// rejected by the gate, failed or was rolled back, the data watermark does not
// move, so the seed's rule alone would retrain the same data on every cron
// run; the cooldown waits for 7 days or 50 more new samples first. A forced
// run is never held back.
func DefaultTrigger() Trigger {
	return trigger.Cooldown(trigger.Default(), 7*24*time.Hour, 50)
}
