//go:build unix

package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test re-executes the test binary as a child that SIGKILLs
// itself before the k-th event (a seam operation or a named crash point)
// of one operation, for k = 1, 2, ... until the operation completes, then
// starts over. After every run the parent checks what a serving process
// would see, reopens the store and checks again.

const (
	envCrashDir = "MOODFOOD_CRASH_DIR"
	envCrashOp  = "MOODFOOD_CRASH_OP"
	envCrashAt  = "MOODFOOD_CRASH_AT"
)

// loadCheck stands in for model.Decode: a "real load" that accepts only
// the bodies these tests write.
func loadCheck(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("model ")) && !bytes.HasPrefix(buf.Bytes(), []byte("legacy ")) {
		return errors.New("not a model")
	}
	return nil
}

var crashOpts = &FileStoreOptions{Check: loadCheck}

// TestCrashChild is the child side; it does nothing unless run by
// TestFileStore_Crash.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("child of TestFileStore_Crash only")
	}
	op := os.Getenv(envCrashOp)
	at, _ := strconv.Atoi(os.Getenv(envCrashAt))
	ctx := context.Background()
	ffs := &faultFS{onEvent: func(n int, what string) {
		if n == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}}
	if op == "legacy" {
		ffs.arm(0, false)
	}
	s, err := openFileStore(dir, crashOpts, &testHooks{
		wrapFS: func(inner fileSystem) fileSystem { ffs.inner = inner; return ffs },
		crash:  func(point string) { ffs.event("point " + point) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var opErr error
	switch op {
	case "deploy", "restore", "legacy":
		curBody, _ := os.ReadFile(filepath.Join(s.DeployedPath(), bodyName))
		target := bodyB
		if string(curBody) == bodyB {
			target = bodyA
		}
		v, err := versionWithBody(s, target)
		if err != nil {
			t.Fatal(err)
		}
		if op != "restore" {
			if op != "legacy" { // legacy counts events from the open (the import)
				ffs.arm(0, false)
			}
			opErr = s.Deploy(ctx, v)
		} else if target == bodyA {
			ffs.arm(0, false)
			opErr = s.Restore(ctx, "") // previous: A is older than B
		} else {
			ffs.arm(0, false)
			opErr = s.Restore(ctx, v)
		}
	case "prune":
		for i := range 3 {
			putBody(t, s, fmt.Sprint("model extra ", i))
		}
		ffs.arm(0, false)
		_, opErr = s.Prune(ctx, Policy{KeepLast: 1})
	case "put":
		ffs.arm(0, false)
		_, opErr = s.Put(ctx, Manifest{}, strings.NewReader(bodyC))
		if opErr == nil {
			_, opErr = s.Prune(ctx, Policy{KeepLast: 3}) // bound the store's growth (also crashable)
		}
	default:
		t.Fatalf("unknown op %q", op)
	}
	if opErr != nil {
		t.Fatal(opErr)
	}
	n, _ := ffs.disarm()
	fmt.Printf("EVENTS %d\n", n)
}

// crashStats counts the outcomes of crash runs.
type crashStats struct {
	mu                                       sync.Mutex
	runs, killed, completed                  int
	badModel, notOldOrNew, temps, lostBackup int
	perOp                                    map[string]int
	events                                   map[string]int
	failures                                 []string
}

func (st *crashStats) fail(format string, args ...any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.failures) < 20 {
		st.failures = append(st.failures, fmt.Sprintf(format, args...))
	}
}

func TestFileStore_Crash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary hundreds of times")
	}
	total := 200
	if raceEnabled {
		total = 100
	}
	if os.Getenv("MOODFOOD_LONG") != "" {
		total = 1250
	}
	ops := []string{"deploy", "restore", "prune", "put", "legacy"}
	st := &crashStats{perOp: map[string]int{}, events: map[string]int{}}
	start := time.Now()
	var wg sync.WaitGroup
	for _, op := range ops {
		wg.Go(func() { crashWorker(t, op, total/len(ops), st) })
	}
	wg.Wait()
	bad := st.badModel + st.notOldOrNew + st.temps + st.lostBackup
	for _, f := range st.failures {
		t.Error(f)
	}
	t.Logf(`REL {"test": "crash", "runs": %d, "bad": %d, "killed": %d, "completed": %d, "unloadable_mixed_or_missing": %d, "deployed_not_old_or_new": %d, "temps_after_reopen": %d, "backup_lost": %d, "per_op": %s, "events_per_op": %s, "seconds": %.1f}`,
		st.runs, bad, st.killed, st.completed, st.badModel, st.notOldOrNew, st.temps, st.lostBackup,
		jsonMap(st.perOp), jsonMap(st.events), time.Since(start).Seconds())
	if bad > 0 {
		t.Fail()
	}
}

func jsonMap(m map[string]int) string {
	var parts []string
	for _, k := range []string{"deploy", "restore", "prune", "put", "legacy"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%q: %d", k, v))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func crashWorker(t *testing.T, op string, runs int, st *crashStats) {
	ctx := context.Background()
	base := t.TempDir()
	dir := filepath.Join(base, "models")
	setup := func() {
		os.RemoveAll(dir)
		s, err := OpenFileStore(dir, nil)
		if err != nil {
			st.fail("%s setup: %v", op, err)
			return
		}
		defer s.Close()
		if op == "legacy" {
			putBody(t, s, bodyB)
			legacy := filepath.Join(dir, deployedName)
			os.Mkdir(legacy, 0o755)
			os.WriteFile(filepath.Join(legacy, bodyName), []byte(bodyLegacy), 0o644)
			return
		}
		a := putBody(t, s, bodyA)
		if err := s.Deploy(ctx, a.Version); err != nil {
			st.fail("%s setup: %v", op, err)
		}
		putBody(t, s, bodyB)
	}
	setup()
	allowed := []string{bodyA, bodyB}
	if op == "legacy" {
		allowed = []string{bodyLegacy, bodyB}
	}
	sums := map[[32]byte]bool{}
	for _, b := range allowed {
		sums[sha256.Sum256([]byte(b))] = true
	}
	k := 1
	for range runs {
		if op == "legacy" {
			setup() // every run starts from a legacy directory
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashOp+"="+op, envCrashAt+"="+strconv.Itoa(k))
		out, err := cmd.CombinedOutput()
		st.mu.Lock()
		st.runs++
		st.perOp[op]++
		st.mu.Unlock()
		var ee *exec.ExitError
		switch {
		case err == nil:
			st.mu.Lock()
			st.completed++
			if n := parseEvents(out); n > st.events[op] {
				st.events[op] = n
			}
			st.mu.Unlock()
			k = 1
		case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
			st.mu.Lock()
			st.killed++
			st.mu.Unlock()
			k++
		default:
			st.fail("%s k=%d: child failed: %v\n%s", op, k, err, out)
			k = 1
		}
		// What a serving process sees right after the crash, before anyone
		// repairs anything.
		body, rerr := os.ReadFile(filepath.Join(dir, deployedName, bodyName))
		if rerr != nil || !sums[sha256.Sum256(body)] {
			st.mu.Lock()
			if rerr != nil {
				st.badModel++
			} else {
				st.notOldOrNew++
			}
			st.mu.Unlock()
			st.fail("%s k=%d: before reopen: deployed %q, %v", op, k, body, rerr)
		}
		checkAfterReopen(t, op, k, dir, sums, st)
	}
}

func parseEvents(out []byte) int {
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "EVENTS "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(rest))
			return n
		}
	}
	return 0
}

func checkAfterReopen(t *testing.T, op string, k int, dir string, sums map[[32]byte]bool, st *crashStats) {
	ctx := context.Background()
	s, err := OpenFileStore(dir, crashOpts)
	if err != nil {
		st.mu.Lock()
		st.badModel++
		st.mu.Unlock()
		st.fail("%s k=%d: reopen: %v", op, k, err)
		return
	}
	defer s.Close()
	if left := tempLeftovers(dir); len(left) > 0 {
		st.mu.Lock()
		st.temps++
		st.mu.Unlock()
		st.fail("%s k=%d: temps after reopen: %v", op, k, left)
	}
	cur, err := s.Current(ctx)
	if err == nil {
		err = s.Verify(ctx, cur)
	}
	body, rerr := os.ReadFile(filepath.Join(s.DeployedPath(), bodyName))
	switch {
	case err != nil || rerr != nil:
		st.mu.Lock()
		st.badModel++
		st.mu.Unlock()
		st.fail("%s k=%d: after reopen: current %s: %v, %v", op, k, cur, err, rerr)
	case !sums[sha256.Sum256(body)]:
		st.mu.Lock()
		st.notOldOrNew++
		st.mu.Unlock()
		st.fail("%s k=%d: after reopen: deployed %q", op, k, body)
	}
	ms, err := s.List(ctx)
	if err != nil {
		st.fail("%s k=%d: List: %v", op, k, err)
		return
	}
	for _, m := range ms {
		if err := s.Verify(ctx, m.Version); err != nil {
			st.mu.Lock()
			st.badModel++
			st.mu.Unlock()
			st.fail("%s k=%d: listed version fails Verify: %v", op, k, err)
		}
	}
	// Backups that must survive: both sides of a switch (prune and put may
	// legitimately drop B, which is neither deployed nor a rollback target).
	must := map[string][]string{"deploy": {bodyA, bodyB}, "restore": {bodyA, bodyB}, "legacy": {bodyLegacy, bodyB},
		"prune": {bodyA}, "put": {bodyA}}[op]
	for _, b := range must {
		if _, err := versionWithBody(s, b); err != nil {
			st.mu.Lock()
			st.lostBackup++
			st.mu.Unlock()
			st.fail("%s k=%d: %v", op, k, err)
		}
	}
}
