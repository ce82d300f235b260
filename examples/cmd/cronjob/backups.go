package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"moodfood/backup"
	"moodfood/internal/flock"
	"moodfood/model"
	"moodfood/retrain"
)

// openStore opens root's model store (ROOT/models) with a real load of each
// body as the verification hook, so verify and rollback refuse a version that
// does not decode, not only one whose checksum is wrong.
func openStore(root string) (*backup.FileStore, error) {
	return backup.OpenFileStore(filepath.Join(root, "models"), &backup.FileStoreOptions{
		Check: func(r io.Reader) error {
			_, err := model.Decode(r)
			return err
		},
	})
}

// runLockRel is the run lock retrain.Open takes (documented there); prune
// takes it too (rollback through retrain.Retrainer.Rollback), so that they
// never interleave with a run.
const runLockRel = "data/logs/retrain.lock"

// withStore parses the common flags of the store commands, resolves the
// root and opens the store. With exclusive set it first takes the root's run
// lock and exits 4 when a run holds it.
// modelStore is what the store commands use of backup.FileStore and
// pgstore.ModelStore.
type modelStore interface {
	List(ctx context.Context) ([]backup.Manifest, error)
	Current(ctx context.Context) (backup.Version, error)
	Verify(ctx context.Context, v backup.Version) error
	Prune(ctx context.Context, p backup.Policy) ([]backup.Version, error)
	RollbackTarget(ctx context.Context) (backup.Version, error)
}

func withStore(ctx context.Context, name string, exclusive bool, args []string, stderr io.Writer, synopsis, desc string,
	extra func(fl *flag.FlagSet), body func(ctx context.Context, s modelStore, h retrain.History) int) int {
	fl := newFlagSet(name, stderr, synopsis, desc)
	rootF := fl.String("root", "", "`root` directory (default $MOODFOOD_ROOT)")
	dbF := registerDatabaseURL(fl)
	if extra != nil {
		extra(fl)
	}
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	if u := databaseURL(*dbF); u != "" {
		return withDatabaseStore(ctx, name, exclusive, u, stderr, body)
	}
	root, err := existingRoot(*rootF)
	if err != nil {
		fmt.Fprintf(stderr, "cronjob %s: %v\n", name, err)
		return exitFailed
	}
	if exclusive {
		if err := os.MkdirAll(filepath.Join(root, "data", "logs"), 0o700); err != nil {
			fmt.Fprintf(stderr, "cronjob %s: %v\n", name, err)
			return exitFailed
		}
		l, err := flock.TryLock(filepath.Join(root, runLockRel))
		if errors.Is(err, flock.ErrLocked) {
			fmt.Fprintf(stderr, "cronjob %s: a retraining run holds the lock on %s; try again when it ends\n", name, root)
			return exitBusy
		}
		if err != nil {
			fmt.Fprintf(stderr, "cronjob %s: %v\n", name, err)
			return exitFailed
		}
		defer l.Unlock()
	}
	s, err := openStore(root)
	if err != nil {
		fmt.Fprintf(stderr, "cronjob %s: %v\n", name, err)
		return exitFailed
	}
	defer s.Close()
	return body(ctx, s, retrain.NewFileHistory(filepath.Join(root, "data", "logs", historyName)))
}

// cmdBackups implements "cronjob backups": the stored versions, newest first.
func cmdBackups(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return withStore(ctx, "backups", false, args, stderr, "backups [--root DIR | --database-url URL]",
		"Lists the stored model versions, newest first; * marks the deployed one.", nil,
		func(ctx context.Context, s modelStore, _ retrain.History) int {
			list, err := s.List(ctx)
			if err != nil {
				fmt.Fprintln(stderr, "cronjob backups:", err)
				return exitFailed
			}
			cur, err := s.Current(ctx)
			if err != nil && !errors.Is(err, backup.ErrNoCurrent) {
				fmt.Fprintln(stderr, "cronjob backups: deployed version:", err)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "\tVERSION\tCREATED\tSIZE\tACCURACY\tMACRO_F1\tRUN")
			var total int64
			for _, m := range list {
				mark := ""
				if m.Version == cur {
					mark = "*"
				}
				total += m.Size()
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, m.Version, m.Created.Local().Format("2006-01-02 15:04:05"),
					humanBytes(m.Size()), metric(m.Metrics, "accuracy"), metric(m.Metrics, "macro_f1"), orDash(m.RunID))
			}
			tw.Flush()
			fmt.Fprintf(stdout, "%d version(s), %s", len(list), humanBytes(total))
			if cur == "" {
				fmt.Fprint(stdout, ", nothing deployed")
			}
			fmt.Fprintln(stdout)
			return exitOK
		})
}

// cmdRollback implements "cronjob rollback [--to NAME]" through
// retrain.Retrainer.Rollback, so that a manual rollback takes the root's run
// lock, appends a rolled_back line (manual: true) to the history and sends
// the model.rolled_back webhook like a run. Exit codes: 0 deployed (or NAME
// already deployed), 4 a run holds the lock, 1 failed or refused, 2 usage.
func cmdRollback(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("rollback", stderr, "rollback [--root DIR | --database-url URL] [--to NAME] [--webhook-url-file F] [--webhook-secret-file F]",
		"Deploys the previous good model version (the newest one older than the deployed one\n"+
			"that passes a full verification; corrupt ones are skipped), or the version NAME after\n"+
			"verifying it. The deployed model keeps serving if the target is corrupt. The rollback\n"+
			"is recorded in the run history and notified like a run; the data watermark does not\n"+
			"move. Exits 4 while a retraining run holds the root's lock, 1 when refused.")
	rootF := fl.String("root", "", "`root` directory (default $MOODFOOD_ROOT)")
	dbF := registerDatabaseURL(fl)
	to := fl.String("to", "", "version `NAME` to deploy (default: the previous one)")
	var wh webhookFlags
	wh.register(fl)
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	v := backup.Version(*to)
	if v != "" {
		if err := v.Validate(); err != nil {
			fmt.Fprintln(stderr, "cronjob rollback:", err)
			return exitUsage
		}
	}
	notifier, err := wh.notifier(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob rollback:", err)
		return exitFailed
	}
	var root string
	var rt *retrain.Retrainer
	if u := databaseURL(*dbF); u != "" {
		root = "the database"
		rt, _, err = openDatabaseRetrainer(ctx, u, &retrain.Options{Notifier: notifier})
	} else if root, err = existingRoot(*rootF); err == nil {
		rt, err = retrain.Open(root, &retrain.Options{Notifier: notifier})
	}
	if err != nil {
		fmt.Fprintln(stderr, "cronjob rollback:", err)
		return exitFailed
	}
	res, err := rt.Rollback(ctx, v)
	if cerr := rt.Close(); cerr != nil && err == nil {
		fmt.Fprintln(stderr, "cronjob rollback: warning: close:", cerr)
	}
	switch {
	case errors.Is(err, retrain.ErrBusy):
		fmt.Fprintf(stderr, "cronjob rollback: a retraining run holds the lock on %s; try again when it ends\n", root)
		return exitBusy
	case err != nil:
		fmt.Fprintln(stderr, "cronjob rollback:", err)
		return exitFailed
	case res.Skipped:
		fmt.Fprintf(stdout, "%s is already deployed; nothing changed\n", res.NewVersion)
		return exitOK
	}
	fmt.Fprintf(stdout, "deployed %s (was %s)\n", res.NewVersion, orDash(string(res.OldVersion)))
	fmt.Fprintln(stdout, res.Record.Summary())
	return exitOK
}

// cmdVerify implements "cronjob verify": every version's checksums and a
// real load; exit 1 when any is corrupt or the deployed one is missing.
func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return withStore(ctx, "verify", false, args, stderr, "verify [--root DIR | --database-url URL]",
		"Checks every stored version: its manifest, the size and SHA-256 of its files, and a\n"+
			"real load of the model. Exits 1 when any version is corrupt.", nil,
		func(ctx context.Context, s modelStore, _ retrain.History) int {
			checks, err := verifyAll(ctx, s)
			if err != nil {
				fmt.Fprintln(stderr, "cronjob verify:", err)
				return exitFailed
			}
			cur, curErr := s.Current(ctx)
			code := exitOK
			for _, c := range checks {
				state := "ok"
				if c.Err != nil {
					state, code = "CORRUPT: "+c.Err.Error(), exitFailed
				}
				mark := " "
				if c.Version == cur {
					mark = "*"
				}
				fmt.Fprintf(stdout, "%s %s %s\n", mark, c.Version, state)
			}
			switch {
			case errors.Is(curErr, backup.ErrNoCurrent):
				fmt.Fprintln(stdout, "nothing deployed")
			case curErr != nil:
				fmt.Fprintln(stdout, "deployed model: "+curErr.Error())
				code = exitFailed
			}
			if code == exitOK {
				fmt.Fprintf(stdout, "%d version(s) verified\n", len(checks))
			}
			return code
		})
}

// verifyAll checks every stored version: through the store's VerifyAll when
// it has one (backup.FileStore's also checks the versions List leaves out
// because they are damaged), else each listed version.
func verifyAll(ctx context.Context, s modelStore) ([]backup.VersionCheck, error) {
	if va, ok := s.(interface {
		VerifyAll(context.Context) ([]backup.VersionCheck, error)
	}); ok {
		return va.VerifyAll(ctx)
	}
	list, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	checks := make([]backup.VersionCheck, 0, len(list))
	for _, m := range list {
		checks = append(checks, backup.VersionCheck{Version: m.Version, Err: s.Verify(ctx, m.Version)})
	}
	return checks, nil
}

// cmdPrune implements "cronjob prune".
func cmdPrune(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var keepLast *int
	var keepWithin, maxBytes *string
	var dry *bool
	return withStore(ctx, "prune", true, args, stderr, "prune [--root DIR | --database-url URL] [--keep-last N] [--keep-within D] [--max-bytes N] [--dry-run]",
		"Deletes old model versions. A version is kept when any rule keeps it; --max-bytes\n"+
			"overrides the others. The deployed version, the rollback target and the candidates\n"+
			"staged for approval that no approve, reject or promote has decided are always kept.\n"+
			"Exits 4 while a retraining run holds the root's lock.",
		func(fl *flag.FlagSet) {
			keepLast = fl.Int("keep-last", 0, "keep the newest `N` versions")
			keepWithin = fl.String("keep-within", "", "keep versions younger than `D` (a Go duration, or days as 30d)")
			maxBytes = fl.String("max-bytes", "", "cap the kept versions' total size at `N` bytes (suffixes K, M, G)")
			dry = fl.Bool("dry-run", false, "show what would be deleted")
		},
		func(ctx context.Context, s modelStore, h retrain.History) int {
			var p backup.Policy
			var err error
			p.KeepLast = *keepLast
			if p.KeepWithin, err = parseAge(*keepWithin); err == nil {
				p.MaxBytes, err = parseBytes(*maxBytes)
			}
			if err == nil && (p.KeepLast < 0 || p.KeepWithin < 0 || p.MaxBytes < 0) {
				err = errors.New("limits must not be negative")
			}
			if err == nil && p.DropsNothing() {
				err = errors.New("give at least one of --keep-last, --keep-within, --max-bytes (the empty policy keeps everything)")
			}
			if err != nil {
				fmt.Fprintln(stderr, "cronjob prune:", err)
				return exitUsage
			}
			if p.Keep, err = retrain.AwaitingApproval(ctx, h); err != nil {
				fmt.Fprintln(stderr, "cronjob prune: reading the history (to keep the candidates awaiting approval):", err)
				return exitFailed
			}
			for _, v := range p.Keep {
				fmt.Fprintf(stdout, "keeping %s (staged, awaiting approval)\n", v)
			}
			if *dry {
				drop, err := backup.PlanPrune(ctx, s, p, time.Now())
				if err != nil {
					fmt.Fprintln(stderr, "cronjob prune:", err)
					return exitFailed
				}
				for _, m := range drop {
					fmt.Fprintf(stdout, "would delete %s (%s)\n", m.Version, humanBytes(m.Size()))
				}
				fmt.Fprintf(stdout, "%d version(s) would be deleted\n", len(drop))
				return exitOK
			}
			removed, err := s.Prune(ctx, p)
			for _, v := range removed {
				fmt.Fprintf(stdout, "deleted %s\n", v)
			}
			if err != nil {
				fmt.Fprintln(stderr, "cronjob prune:", err)
				return exitFailed
			}
			fmt.Fprintf(stdout, "%d version(s) deleted\n", len(removed))
			return exitOK
		})
}

// parseAge parses a Go duration or a number of days such as "30d"; "" is 0.
func parseAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil {
			return 0, fmt.Errorf("--keep-within %q: %w", s, err)
		}
		return time.Duration(n * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("--keep-within %q: %w", s, err)
	}
	return d, nil
}

// parseBytes parses a byte count with an optional K, M or G suffix (powers
// of 1024); "" is 0.
func parseBytes(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	num := strings.TrimSuffix(strings.ToUpper(s), "B")
	switch {
	case strings.HasSuffix(num, "K"):
		mult, num = 1<<10, strings.TrimSuffix(num, "K")
	case strings.HasSuffix(num, "M"):
		mult, num = 1<<20, strings.TrimSuffix(num, "M")
	case strings.HasSuffix(num, "G"):
		mult, num = 1<<30, strings.TrimSuffix(num, "G")
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("--max-bytes %q: want a byte count such as 500M", s)
	}
	return n * mult, nil
}

// humanBytes renders n as 1.2 MB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// metric renders m[name] with three decimals, or "-".
func metric(m map[string]float64, name string) string {
	v, ok := m[name]
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// orDash returns s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
