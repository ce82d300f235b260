// Package retrain keeps a deployed intent classifier improving without
// making it worse: one Run loads the latest data, trains a candidate,
// validates it against the deployed model, backs it up, deploys it and
// checks it, or records why not.
//
// # Pieces
//
// A Retrainer consumes small interfaces, each replaceable (docs/ARCHITECTURE.md §1):
// Trigger (package trigger) decides whether to train; DatasetStore gives the
// data and keeps the "new samples" watermark; Trainer trains a Classifier and
// decodes stored ones; ModelStore keeps versions and the deployed pointer;
// Notifier hears about outcomes. New(Config) takes any implementations, so a
// service can unit-test its wiring with fakes. Open(root, opts) wires the
// embedded default from packages trigger, dataset, model and backup over one
// root directory (docs/ARCHITECTURE.md §2), so a backend gets the seed's behaviour with
// one call. Optional abilities are found by type assertion: Previewer,
// Signaler, Reaper (stores), Labeler, OOVCounter (classifiers),
// backup.Pruner (model stores).
//
// # One run
//
//  1. lock: an in-process mutex and the Config.Locker (Open: a FileLocker,
//     an flock on ROOT/data/logs/retrain.lock); another run gets ErrBusy at
//     once. A run that died holding the lock is recorded as failed and what
//     it left behind is reaped.
//  2. trigger: State from the history's tail, Pending, the deployed model's
//     manifest and (Signaler) live signals; a no is a skipped run.
//  3. load: DatasetStore.Snapshot (exports new samples first).
//  4. merge: dataset.Merge of base, old and new samples, golden samples left
//     out; split by model.InHoldout(dataset.SplitKey(text), fraction),
//     default 0.2, a hash that keeps each text on its side as data grows.
//  5. train: Trainer.Train on the training side, progress forwarded.
//     When the deployed version was refit on its own hold-out (step 8), its
//     twin is trained too: the same trainer on the training side of the
//     samples that version saw, so that the comparison is like for like.
//  6. evaluate: candidate and deployed model (or its twin) predict the same
//     held-out samples (and the golden set); model.Evaluate scores both, and
//     each earns its routing threshold (see Routing).
//  7. gate: see Gate. Every check is recorded with its value, threshold and
//     verdict; a failed check rejects the candidate (a result, not an error).
//  8. refit: unless Config.NoRefit, the version to deploy is trained again
//     on all the samples (training and held-out side) with the same
//     trainer, and checked: finite predictions, held-out accuracy (on
//     samples it now trained on) at least the candidate's, the canaries. It
//     carries the candidate's metrics (measured on samples the candidate did
//     not train on) and a routing threshold earned on data it did not train
//     on: its own on the golden set when there is one, the candidate's
//     otherwise. Record.Refit says how it went; when a check fails, the
//     candidate itself deploys.
//  9. save: Put with metrics, dataset fingerprint, Replaces, trainer config
//     and run id in the manifest (a Classifier with a
//     SetMetrics(map[string]float64) method gets the metrics too). The
//     encoding streams into Put, hashed on the way; when the store reports
//     the files it stored, one must match that size and SHA-256.
//  10. deploy: the last point where cancellation is honoured.
//  11. verify: the version is read back from the store (whose checksum
//     covers every byte), decoded once as it streams and asked the canaries;
//     a failure deploys the previous version again (rolled_back).
//  12. commit: the data watermark advances; old versions are pruned when
//     Config.Retention is set, never a candidate staged for approval that
//     no one has decided yet (AwaitingApproval, backup.Policy.Keep).
//
// Whatever the outcome (skipped, failed, rejected, deployed, rolled_back),
// one Record is appended to the History (Config.History): by default
// FileHistory, a JSONL file whose lines keep the seed's fields (retrain_id,
// timestamp, status, dataset_quality) and add the trigger's reasons, every
// gate check, versions, per-stage durations and peak memory. Readers list
// past runs through History.List (newest first, by outcome, time range,
// limit) and Tail; any backend implementing History can replace the file
// (retraintest.TestHistory is its contract). A run whose record cannot be
// written (a full disk) stays visible to Status: FileHistory keeps it in a
// preallocated side record until the next append, and the Retrainer in
// memory. A canceled run is recorded as failed with a fresh short-deadline
// context. A dry run goes as far as the gate's verdict and writes nothing at
// all.
//
// # Gate
//
// With a deployed model: Δaccuracy ≥ −0.01 and Δmacro-F1 ≥ −0.01 (an
// explicit epsilon makes a drop of exactly 0.01 pass), the same on the golden
// set when there is one, each tolerance widened to 1.645 standard errors of
// the paired accuracy difference when the evaluation is too small to tell
// a point apart (Gate.NoiseZ: on 100 samples one sample is a point), no intent with support ≥ 20 losing more than 0.10
// F1, and optionally a paired bootstrap lower bound of Δmacro-F1 ≥ −margin.
// Also with a deployed model: the share of samples the candidate may answer
// on the ML route at the target precision (its Routing coverage) at most
// Gate.MaxCoverageDrop (0.05) below the deployed model's. Always: absolute
// floors when set, enough evaluation samples, no NaN, no deployed label
// missing from the candidate, canaries. Every threshold is a Gate field.
//
// # Routing
//
// Each candidate earns the routing threshold it serves with (DeriveRouting):
// the lowest RoutingScore at which the ML route's precision, on samples the
// candidate did not train on, has a one-sided Wilson lower bound (at
// 1 − Config.RoutingDelta, 95%) of at least Config.TargetPrecision (0.95).
// Those samples are the held-out samples and the golden set, without the
// samples whose labels are the model's own confirmed answers (sources
// feedback and model): only the answers a model got right survive as such
// samples, so they would make any threshold look precise. With
// Config.CorrectionsLogged (the backend corrects rejected answers through
// serve.Server.Correct) the feedback samples are in: the corrections bring
// the wrong answers back, so together they sample the ML route fairly. LLM-labelled
// samples stay: they are the queries an earlier model was unsure of, harder
// than the traffic, which errs on the safe side. The threshold, its
// coverage, precision, bound and sample count are stored in the version's
// manifest (the MetricRouting* keys) and the run's record; package serve
// routes each version with its own.
//
// # Events
//
// Config.OnEvent and Config.OnProgress are called synchronously for every
// stage and training step. The Notifier gets run.started, run.skipped,
// run.failed, gate.rejected, model.deployed and model.rolled_back, each with
// the run's Record; its failures are logged, bounded by
// Config.NotifyTimeout, and never change a run's outcome. A manual
// Retrainer.Rollback is recorded and notified like a run (model.rolled_back,
// Record.Manual set) and is not an attempt for the trigger. Package
// examples/webhook is a Slack/Discord-compatible Notifier.
//
// # Files
//
// Local filesystems only; NFS is unsupported (flock and rename semantics).
// Files are created 0600 and directories 0700.
package retrain
