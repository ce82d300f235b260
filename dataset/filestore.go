package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"moodfood/internal/atomicfile"
	"moodfood/internal/flock"
	"moodfood/internal/nofollow"
)

// FileStoreOptions tunes a FileStore. The zero value (or nil) is a set of
// defaults.
type FileStoreOptions struct {
	// GoldenPath is the frozen golden set; relative paths are relative to
	// the root. Default data/golden_dataset.jsonl. A missing file means no
	// golden set.
	GoldenPath string
	// Policy is the export quality policy.
	Policy ExportPolicy
	// Logger tunes the Logger returned by FileStore.Logger.
	Logger LoggerOptions
	// MaxRecord is the record size limit for reading sample files and the
	// query log (default jsonl.DefaultMaxRecord, 1 MiB). Queries are
	// limited further by Logger.MaxRecord when written.
	MaxRecord int
	// SampleRetention is how long exported samples (user text) are kept in
	// training_dataset.jsonl: ApplyRetention deletes older ones. Zero means
	// DefaultSampleRetention (365 days); negative means forever.
	SampleRetention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// FileStore is the embedded dataset store on disk under one root
// (docs/ARCHITECTURE.md §2):
//
//	ROOT/data/intent_dataset.jsonl            base set (JSONL or a JSON array)
//	ROOT/data/golden_dataset.jsonl            optional frozen golden set
//	ROOT/data/logs/query_logs.jsonl           query log (+ query_logs.NNNNNNNN.jsonl segments)
//	ROOT/data/logs/training_dataset.jsonl     exported samples
//	ROOT/data/logs/export_state.json          export watermark (segment, offset)
//	ROOT/data/logs/train_watermark.json       committed Mark
//	ROOT/data/logs/export.lock                serializes Export/Snapshot/Commit across processes
//
// Files are created 0600, directories 0700; local filesystems only (NFS is
// unsupported). A FileStore is safe for concurrent use by multiple
// goroutines, and several processes may use one root: the serving process
// logs through Logger while a retraining process calls Snapshot and Commit.
//
// The golden set never enters training: Snapshot removes every sample whose
// normalized text is in the golden set from Base, Old and New.
type FileStore struct {
	root   string
	opts   FileStoreOptions
	golden string

	mu     sync.Mutex
	logger *Logger
	closed bool
}

// OpenFileStore opens (creating directories as needed) the store under
// root. A relative root is made absolute once, here; later changes of the
// working directory do not matter. Stale temp files of the state files are
// removed.
func OpenFileStore(root string, opts *FileStoreOptions) (*FileStore, error) {
	if !flock.Supported {
		return nil, ErrUnsupported
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("dataset: open %s: %w", root, err)
	}
	s := &FileStore{root: abs}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if s.opts.Logger.Now == nil {
		s.opts.Logger.Now = s.opts.Now
	}
	s.golden = s.opts.GoldenPath
	if s.golden == "" {
		s.golden = filepath.Join("data", "golden_dataset.jsonl")
	}
	if !filepath.IsAbs(s.golden) {
		s.golden = filepath.Join(abs, s.golden)
	}
	if err := os.MkdirAll(s.logsDir(), 0o700); err != nil {
		return nil, fmt.Errorf("dataset: open: %w", err)
	}
	if ents, err := os.ReadDir(s.logsDir()); err == nil {
		for _, e := range ents {
			if atomicfile.IsTemp(e.Name()) && (bytes.HasPrefix([]byte(e.Name()), []byte(".export_state.json")) ||
				bytes.HasPrefix([]byte(e.Name()), []byte(".train_watermark.json"))) {
				os.Remove(filepath.Join(s.logsDir(), e.Name()))
			}
		}
	}
	return s, nil
}

func (s *FileStore) logsDir() string      { return filepath.Join(s.root, "data", "logs") }
func (s *FileStore) basePath() string     { return filepath.Join(s.root, "data", "intent_dataset.jsonl") }
func (s *FileStore) queryLogPath() string { return filepath.Join(s.logsDir(), "query_logs.jsonl") }
func (s *FileStore) trainingPath() string {
	return filepath.Join(s.logsDir(), "training_dataset.jsonl")
}
func (s *FileStore) exportState() string { return filepath.Join(s.logsDir(), "export_state.json") }
func (s *FileStore) markPath() string    { return filepath.Join(s.logsDir(), "train_watermark.json") }
func (s *FileStore) lockPath() string    { return filepath.Join(s.logsDir(), "export.lock") }

// Root is the store's absolute root directory.
func (s *FileStore) Root() string { return s.root }

// Logger returns the store's query Logger, opening it (and starting its
// goroutine) on first use. Close closes it.
func (s *FileStore) Logger() (*Logger, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.logger == nil {
		l, err := OpenLogger(s.queryLogPath(), &s.opts.Logger)
		if err != nil {
			return nil, err
		}
		s.logger = l
	}
	return s.logger, nil
}

// Log logs one served query through Logger: the serving side's entry point.
func (s *FileStore) Log(q Query) error {
	l, err := s.Logger()
	if err != nil {
		return err
	}
	return l.Log(q)
}

// Close closes the Logger, if one was opened, draining its queue. It is
// safe to call more than once.
func (s *FileStore) Close() error {
	s.mu.Lock()
	l := s.logger
	s.closed = true
	s.logger = nil
	s.mu.Unlock()
	if l != nil {
		return l.Close()
	}
	return nil
}

func (s *FileStore) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// exportWatermark is export_state.json: where the next export starts in the
// query log, and how long training_dataset.jsonl was when it was saved.
type exportWatermark struct {
	Seq          int       `json:"seq"`
	Offset       int64     `json:"offset"`
	Line         int       `json:"line"`
	TrainingSize int64     `json:"training_size"`
	Updated      time.Time `json:"updated,omitzero"`
}

// committedMark is train_watermark.json.
type committedMark struct {
	Mark
	Committed time.Time `json:"committed,omitzero"`
}

func readJSON(path string, v any) error {
	b, err := nofollow.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("dataset: %s: %w", filepath.Base(path), err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := atomicfile.WriteBytes(path, 0o600, append(b, '\n')); err != nil {
		return fmt.Errorf("dataset: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func (s *FileStore) lock() (*flock.Lock, error) {
	l, err := flock.LockWait(s.lockPath())
	if err != nil {
		return nil, fmt.Errorf("dataset: lock: %w", err)
	}
	return l, nil
}
