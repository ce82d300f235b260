// Package backup is the versioned model store: put a candidate, deploy it
// atomically, see what is deployed, list, verify, restore a backup or the
// previous version, and prune by a retention policy. FileStore keeps it on
// a local disk; MemStore keeps it in memory for tests. Both satisfy
// retrain.ModelStore and run the retraintest conformance suite.
//
// # Layout
//
// A FileStore is rooted at ROOT/models:
//
//	models/
//	  .lock                                        flock: Put shared; Deploy, Restore, Prune, reaper exclusive
//	  intent_classifier -> backups/model_backup_20260102_030405_000001
//	  backups/
//	    model_backup_20260102_030405_000001/      one immutable version:
//	      model.bin                                  the model body
//	      manifest.json                              Manifest: version, created, size+SHA-256 per file,
//	                                                 metrics, dataset fingerprint, replaces, trainer config
//	    model_backup_20260102_030405_000002.tmp/  being written (or left by a crash; reaped)
//	  .intent_classifier.<hex>.tmp                 deploy's temp link (reaped)
//
// Version names are model_backup_YYYYMMDD_HHMMSS_<seq> in UTC, with a
// six-digit sequence that makes them unique within a second even with a
// frozen clock. A name is reserved by mkdir of <name>.tmp (which fails if
// another process has it), and a version is committed by renaming that
// directory, which fails onto an existing non-empty directory, so no
// version is ever overwritten. Names are checked against
// ^model_backup_[0-9]{8}_[0-9]{6}_[0-9a-z]{1,16}$ before any path is built,
// and every file operation goes through an os.Root, so nothing outside
// models/ is touched; a deployed link that points anywhere but
// backups/<valid name> is refused (ErrOutsideStore). Files are 0600 and
// directories 0700.
//
// intent_classifier is a relative symlink: serving processes open
// DeployedPath()/model.bin and get one complete version. To learn that a
// new version was deployed they poll Stamp, which costs one readlink.
//
// # Crash guarantees
//
// Put writes backups/<name>.tmp/, fsyncs each file and the directory,
// checks ctx, renames it to backups/<name> and fsyncs backups/ (raft's
// file_snapshot pattern). Until Put returns nil the version is invisible:
// List skips .tmp directories and versions with missing or short files.
//
// Deploy verifies the target's checksums, creates a temp symlink, fsyncs
// models/, renames the link over intent_classifier and fsyncs models/
// again. rename(2) replaces the link atomically, so after a crash at any
// point intent_classifier names the old version or the new one, both
// complete; never neither, never a mix. "Back up the current model first"
// holds by construction: the deployed model already lives immutably under
// backups/. A legacy plain directory at intent_classifier (files a person
// copied in) is first imported as a new backup and then swapped for a link
// with renameat2(RENAME_EXCHANGE); it is never destroyed before its copy is
// durable. Where the kernel or file system lacks RENAME_EXCHANGE, the
// directory is moved aside and the link renamed in: a crash (or a second
// I/O fault) between the two renames leaves nothing at intent_classifier
// until the next OpenFileStore moves the directory back. That is the one
// window in which a reader can find no model.
//
// Open reads the manifest, checks the file sizes and hashes the body once,
// as it is read: the reader returns ErrCorrupt at EOF on a mismatch, so a
// caller that must know the body is intact reads it to the end (Verify
// hashes it up front instead). Deploy hashes only the version it deploys;
// the one it replaces was verified when it was deployed.
//
// Restore runs Verify (checksums, then FileStoreOptions.Check, a real load)
// before deploying, so a backup with one flipped byte is refused with
// ErrCorrupt and the deployed model keeps serving. Prune renames each
// victim to a temp name before removing it, so a crash never leaves a
// half-deleted version in sight, and it never removes the deployed version
// or the rollback target, which it verifies: the newest version older than
// the deployed one that passes Verify, so retention never removes the last
// working rollback target (see Policy, SelectPinned and
// FileStore.RollbackTarget), nor a version the policy lists in Keep (such
// as a candidate awaiting approval).
//
// If an fsync fails, nothing is renamed into place and the operation returns
// the error. Opening a store (and every Prune) reaps temp directories and
// links that a dead writer left, under the exclusive lock so that a live
// writer's temp files are never touched.
//
// These guarantees need a local file system with POSIX rename and fsync
// semantics (ext4, xfs, btrfs, tmpfs). NFS and other network file systems
// are unsupported. Linux only (flock, renameat2).
//
// # Errors
//
// Errors wrap the package's sentinels (ErrNotFound, ErrCorrupt,
// ErrNoCurrent, ErrNoPrevious, ErrInvalidName, ErrClosed, ErrOutsideStore);
// test them with errors.Is.
package backup
