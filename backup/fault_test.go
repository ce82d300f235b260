package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// faultScenario prepares a store and runs one operation under faults.
type faultScenario struct {
	name  string
	setup func(t *testing.T, dir string) // with a clean store, closed after
	op    func(ctx context.Context, s *FileStore) error
	// check inspects the store after the faulted op (opErr) and again after
	// a clean reopen (opErr == nil, reopened == true).
	check func(s *FileStore, opErr error, persistent, reopened bool) error
	// repair is the clean operation that must succeed afterwards.
	repair func(ctx context.Context, s *FileStore) error
	// noExchange makes the seam report RENAME_EXCHANGE as unsupported.
	noExchange bool
}

const (
	bodyA      = "model A: the old deployed model"
	bodyB      = "model B: the new candidate"
	bodyC      = "model C: put under faults"
	bodyLegacy = "legacy model a person copied in"
)

// versionWithBody finds the listed version whose body is body.
func versionWithBody(s *FileStore, body string) (Version, error) {
	ms, err := s.list(context.Background())
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		b, err := s.root.ReadFile(filepath.Join(backupsDir, string(m.Version), bodyName))
		if err == nil && string(b) == body {
			return m.Version, nil
		}
	}
	return "", fmt.Errorf("no version with body %q", body)
}

// deployedState checks that something complete is deployed and returns its
// body. It reads through the link as a serving process does.
func deployedState(s *FileStore, allowed ...string) (string, error) {
	b, err := os.ReadFile(filepath.Join(s.DeployedPath(), bodyName))
	if err != nil {
		return "", fmt.Errorf("deployed model unreadable: %w", err)
	}
	ok := false
	for _, a := range allowed {
		ok = ok || string(b) == a
	}
	if !ok {
		return "", fmt.Errorf("deployed body %q is neither of %q", b, allowed)
	}
	if cur, err := s.current(); err == nil {
		if err := s.verify(context.Background(), cur); err != nil {
			return "", fmt.Errorf("deployed version fails Verify: %w", err)
		}
	} else if fi, lerr := os.Lstat(s.DeployedPath()); lerr != nil || !fi.IsDir() {
		return "", fmt.Errorf("Current: %w", err)
	}
	return string(b), nil
}

func putBody(t testing.TB, s *FileStore, body string) Manifest {
	t.Helper()
	m, err := s.Put(context.Background(), Manifest{}, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func faultScenarios() []faultScenario {
	scs := baseScenarios()
	legacy := scs[len(scs)-1]
	legacy.name += "NoExchange"
	legacy.noExchange = true
	return append(scs, legacy)
}

func baseScenarios() []faultScenario {
	setupAB := func(t *testing.T, dir string) {
		s, err := OpenFileStore(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		a := putBody(t, s, bodyA)
		if err := s.Deploy(context.Background(), a.Version); err != nil {
			t.Fatal(err)
		}
		putBody(t, s, bodyB)
	}
	deployB := func(ctx context.Context, s *FileStore) error {
		v, err := versionWithBody(s, bodyB)
		if err != nil {
			return err
		}
		return s.Deploy(ctx, v)
	}
	checkDeploy := func(s *FileStore, opErr error, persistent, reopened bool) error {
		body, err := deployedState(s, bodyA, bodyB)
		if err != nil {
			return err
		}
		if opErr == nil && body != bodyB {
			return fmt.Errorf("deploy returned nil but %q is deployed", body)
		}
		if _, err := versionWithBody(s, bodyA); err != nil {
			return fmt.Errorf("backup of the old model lost: %w", err)
		}
		return nil
	}
	return []faultScenario{
		{
			name:   "Deploy",
			setup:  setupAB,
			op:     deployB,
			check:  checkDeploy,
			repair: deployB,
		},
		{
			name:  "Restore",
			setup: setupAB,
			op: func(ctx context.Context, s *FileStore) error {
				v, err := versionWithBody(s, bodyB)
				if err != nil {
					return err
				}
				return s.Restore(ctx, v)
			},
			check:  checkDeploy,
			repair: deployB,
		},
		{
			name:  "Put",
			setup: setupAB,
			op: func(ctx context.Context, s *FileStore) error {
				_, err := s.Put(ctx, Manifest{}, strings.NewReader(bodyC))
				return err
			},
			check: func(s *FileStore, opErr error, persistent, reopened bool) error {
				if _, err := deployedState(s, bodyA); err != nil {
					return err
				}
				if _, err := listedVerify(s); err != nil {
					return err
				}
				_, cerr := versionWithBody(s, bodyC)
				switch {
				case opErr == nil && cerr != nil:
					return fmt.Errorf("Put returned nil but C is not listed")
				case opErr != nil && cerr == nil && !persistent:
					return fmt.Errorf("Put failed (%v) but C is visible", opErr)
				}
				return nil
			},
			repair: func(ctx context.Context, s *FileStore) error {
				_, err := s.Put(ctx, Manifest{}, strings.NewReader(bodyC))
				return err
			},
		},
		{
			name: "Prune",
			setup: func(t *testing.T, dir string) {
				setupAB(t, dir)
				s, _ := OpenFileStore(dir, nil)
				defer s.Close()
				for i := range 3 {
					putBody(t, s, fmt.Sprint("extra ", i))
				}
			},
			op: func(ctx context.Context, s *FileStore) error {
				_, err := s.Prune(ctx, Policy{KeepLast: 1})
				return err
			},
			check: func(s *FileStore, opErr error, persistent, reopened bool) error {
				if _, err := deployedState(s, bodyA); err != nil {
					return err
				}
				ms, err := listedVerify(s)
				if err != nil {
					return err
				}
				if opErr == nil && len(ms) != 2 {
					return fmt.Errorf("Prune returned nil but %d versions remain", len(ms))
				}
				return nil
			},
			repair: func(ctx context.Context, s *FileStore) error {
				_, err := s.Prune(ctx, Policy{KeepLast: 1})
				return err
			},
		},
		{
			name: "LegacyImportDeploy",
			setup: func(t *testing.T, dir string) {
				s, err := OpenFileStore(dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				putBody(t, s, bodyB)
				s.Close()
				legacy := filepath.Join(dir, deployedName)
				os.Mkdir(legacy, 0o755)
				os.WriteFile(filepath.Join(legacy, bodyName), []byte(bodyLegacy), 0o644)
			},
			op: deployB,
			check: func(s *FileStore, opErr error, persistent, reopened bool) error {
				body, err := deployedState(s, bodyLegacy, bodyB)
				if err != nil {
					return err
				}
				if opErr == nil && body != bodyB {
					return fmt.Errorf("deploy returned nil but %q is deployed", body)
				}
				if fi, err := os.Lstat(s.DeployedPath()); err == nil && fi.IsDir() {
					return nil // legacy directory still in place
				}
				if _, err := versionWithBody(s, bodyLegacy); err != nil {
					return fmt.Errorf("legacy model lost: %w", err)
				}
				return nil
			},
			repair: deployB,
		},
	}
}

// TestFileStore_FaultInjection fails the Nth seam operation of each
// scenario for every N, once transiently and once persistently.
func TestFileStore_FaultInjection(t *testing.T) {
	ctx := context.Background()
	total, bad, renameViolations, gaps := 0, 0, 0, 0
	for _, sc := range faultScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			run := func(failAt int, persistent bool) (events int, err error) {
				dir := filepath.Join(t.TempDir(), "models")
				sc.setup(t, dir)
				ffs := &faultFS{noExchange: sc.noExchange}
				ffs.arm(failAt, persistent)
				s, oerr := openFileStore(dir, nil, &testHooks{
					wrapFS: func(inner fileSystem) fileSystem { ffs.inner = inner; return ffs },
					crash:  func(point string) { ffs.event("point " + point) },
				})
				var opErr error
				if oerr != nil {
					opErr = oerr
				} else {
					ffs.mark() // open (reap, legacy import) and op are separate operations
					opErr = sc.op(ctx, s)
				}
				n, log := ffs.disarm()
				if failAt == 0 && opErr != nil {
					return n, fmt.Errorf("clean run failed: %v", opErr)
				}
				var errs []error
				if err := checkNoRenameAfterFailedSync(log); err != nil {
					renameViolations++
					errs = append(errs, err)
				}
				if s != nil {
					if err := sc.check(s, opErr, persistent, false); err != nil {
						if sc.noExchange && persistent && errors.Is(err, os.ErrNotExist) {
							// Documented: without RENAME_EXCHANGE a double fault
							// leaves the legacy directory aside until the next
							// open moves it back (checked below).
							gaps++
						} else {
							errs = append(errs, fmt.Errorf("after fault: %w", err))
						}
					}
					s.Close()
				}
				s2, err := OpenFileStore(dir, nil)
				if err != nil {
					return n, errors.Join(append(errs, fmt.Errorf("reopen: %w", err))...)
				}
				defer s2.Close()
				if left := tempLeftovers(dir); len(left) > 0 {
					errs = append(errs, fmt.Errorf("temp files after reopen: %v", left))
				}
				if err := sc.check(s2, opErr, persistent, true); err != nil {
					errs = append(errs, fmt.Errorf("after reopen: %w", err))
				}
				if err := sc.repair(ctx, s2); err != nil {
					errs = append(errs, fmt.Errorf("clean retry: %w", err))
				} else if err := sc.check(s2, nil, false, true); err != nil {
					errs = append(errs, fmt.Errorf("after clean retry: %w", err))
				}
				return n, errors.Join(errs...)
			}
			events, err := run(0, false)
			if err != nil {
				t.Fatalf("clean run: %v", err)
			}
			for failAt := 1; failAt <= events; failAt++ {
				for _, persistent := range []bool{false, true} {
					total++
					if _, err := run(failAt, persistent); err != nil {
						bad++
						t.Errorf("fail event %d/%d (persistent %v): %v", failAt, events, persistent, err)
					}
				}
			}
			t.Logf("%s: %d events, %d faulted runs", sc.name, events, 2*events)
		})
	}
	t.Logf(`REL {"test": "fault_injection", "runs": %d, "bad": %d, "rename_after_failed_sync": %d, "legacy_fallback_gap_until_reopen": %d}`,
		total, bad, renameViolations, gaps)
}

// listedVerify lists the store's versions and fails unless every listed
// version passes Verify: List must never show an incomplete version.
func listedVerify(s *FileStore) ([]Manifest, error) {
	ms, err := s.list(context.Background())
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if err := s.verify(context.Background(), m.Version); err != nil {
			return nil, fmt.Errorf("listed version fails Verify: %w", err)
		}
	}
	return ms, nil
}
