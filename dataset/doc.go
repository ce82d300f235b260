// Package dataset owns the training data of moodfood: the Sample and Query
// records, the serving-path Logger, the export of good samples from the
// query log, Normalize/Dedupe/Merge, and the dataset stores (FileStore on
// disk, MemStore in memory).
//
// # Roles
//
// The serving side only logs: FileStore.Log or a Logger from OpenLogger,
// plus Logger.Feedback for feedback that arrives later. The retraining side
// uses Snapshot, Commit and Pending (retrain.DatasetStore) and Signals.
//
// # Data flow
//
//	Logger ──▶ data/logs/query_logs.jsonl (+ rotated segments, retention)
//	Export ──▶ data/logs/training_dataset.jsonl   (incremental, export_state.json)
//	Snapshot = Export + base + exported (Old|New at the committed Mark) + golden
//	Commit(mark) after a deploy ──▶ data/logs/train_watermark.json
//	Pending = exported lines after the Mark + what Export would add now
//	          (exact up to PendingExactBytes of unexported log, else an
//	          upper-bound estimate; PendingExact is always exact)
//
// # Performance
//
// Export, Pending and Snapshot decode the query log and the sample files
// with hand-written scanners of the known fields that fall back to
// encoding/json for any line outside a strict subset of JSON, so results
// are the same as with encoding/json alone; see BENCHMARKS.md.
//
// # Robustness (docs/ARCHITECTURE.md §4)
//
// Every JSONL file is append-only and read with package internal/jsonl:
// damaged or torn lines are skipped and counted with their line numbers,
// never a stop and never a rewrite; records over the size limit are refused
// when appended and skipped when read; an append that finds the file not
// ending in a newline starts on a new line; appends hold an flock(2) on
// "<file>.lock" around a single O_APPEND write, so appends from several
// processes on one host never interleave. State files are replaced with
// internal/atomicfile. The query log is group-committed: a crash loses at
// most the last unflushed window (LoggerOptions.FlushInterval, 1 s by
// default). Local filesystems only; NFS is unsupported.
//
// # Limits
//
// Query records are at most LoggerOptions.MaxRecord bytes (64 KiB by
// default); sample files and the query log are read with a 1 MiB limit
// (FileStoreOptions.MaxRecord).
package dataset
