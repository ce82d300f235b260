package retrain_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/trigger"
)

// Environment of a child process started by the tests below.
const (
	envChild = "RETRAIN_TEST_CHILD" // the root directory
	envGo    = "RETRAIN_TEST_GO"    // file whose appearance starts the run
	envWait  = "RETRAIN_TEST_WAIT"  // file whose appearance ends training
	// envTrials is the number of runs a child does, one per trial; with
	// more than one, the go and wait files get a "-<trial>" suffix.
	envTrials = "RETRAIN_TEST_TRIALS"
)

// childResult is what a child prints on its stdout, prefixed "CHILD ".
type childResult struct {
	PID     int     `json:"pid"`
	Outcome string  `json:"outcome"`
	Busy    bool    `json:"busy"`
	Trained bool    `json:"trained"`
	Millis  float64 `json:"ms"`
	Err     string  `json:"err,omitempty"`
}

// TestProcessChild is the body of a child process; it does nothing in a
// normal test run.
func TestProcessChild(t *testing.T) {
	root := os.Getenv(envChild)
	if root == "" {
		t.Skip("child process helper")
	}
	trained := false
	tr := &fakeTrainer{WaitFile: os.Getenv(envWait)}
	r, err := retrain.New(retrain.Config{
		Trigger:     always(true),
		Data:        &memData{base: samples(20, dataset.SourceSeed, "happy", "sad")},
		Trainer:     tr,
		Models:      backup.NewMemStore(),
		HistoryPath: filepath.Join(root, "retrain_history.jsonl"),
		LockPath:    filepath.Join(root, "retrain.lock"),
		OnProgress: func(p retrain.Progress) {
			if p.Stage == "train" && p.Train == nil {
				trained = true
				fmt.Println("TRAINING")
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	trials := 1
	fmt.Sscan(os.Getenv(envTrials), &trials)
	for i := range trials {
		goFile, waitFile := os.Getenv(envGo), os.Getenv(envWait)
		if trials > 1 {
			goFile, waitFile = fmt.Sprintf("%s-%d", goFile, i), fmt.Sprintf("%s-%d", waitFile, i)
		}
		tr.WaitFile = waitFile
		trained = false
		fmt.Printf("READY %d\n", i)
		for goFile != "" {
			if _, err := os.Stat(goFile); err == nil {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		start := time.Now()
		res, err := r.Run(context.Background(), retrain.RunOptions{Force: true})
		out := childResult{PID: os.Getpid(), Outcome: string(res.Outcome), Busy: errors.Is(err, retrain.ErrBusy),
			Trained: trained, Millis: float64(time.Since(start).Microseconds()) / 1000}
		if err != nil {
			out.Err = err.Error()
		}
		b, _ := json.Marshal(out)
		fmt.Printf("CHILD %d %s\n", i, b)
	}
}

// child is a started child process.
type child struct {
	cmd   *exec.Cmd
	lines chan string
}

func startChild(t *testing.T, root, goFile, waitFile string, trials int) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProcessChild$", "-test.count=1")
	// The race detector sleeps 1 s at exit by default; children need not.
	cmd.Env = append(os.Environ(), envChild+"="+root, envGo+"="+goFile, envWait+"="+waitFile, fmt.Sprintf("%s=%d", envTrials, trials), "GORACE=atexit_sleep_ms=0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	return c
}

// await returns the first line with the prefix, or fails after 20 s.
func (c *child) await(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return strings.TrimPrefix(l, prefix)
			}
		case <-timeout:
			t.Fatalf("child: no %q within 20s", prefix)
		}
	}
}

// TestRun_Processes starts 2, 4 and 8 processes at once on one root, 100
// trials in all: exactly one trains each time and the others get ErrBusy.
func TestRun_Processes(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	root := t.TempDir()
	plan := []struct{ procs, trials int }{{2, 50}, {4, 30}, {8, 20}}
	var busyMs []float64
	runs, bad, trialsDone := 0, 0, 0
	for _, p := range plan {
		// The children live for all the trials of their level: starting
		// processes is slow, taking the lock is what is measured.
		dir := filepath.Join(root, fmt.Sprintf("signals-%d", p.procs))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		goBase, waitBase := filepath.Join(dir, "go"), filepath.Join(dir, "release")
		var kids []*child
		for range p.procs {
			kids = append(kids, startChild(t, root, goBase, waitBase, p.trials))
		}
		for trial := range p.trials {
			goFile, waitFile := fmt.Sprintf("%s-%d", goBase, trial), fmt.Sprintf("%s-%d", waitBase, trial)
			for _, k := range kids {
				k.await(t, fmt.Sprintf("READY %d", trial))
			}
			os.WriteFile(goFile, nil, 0o600)
			// Collect the losers first; then release the winner.
			results := make([]childResult, len(kids))
			var wg sync.WaitGroup
			var mu sync.Mutex
			busy := 0
			for i, k := range kids {
				wg.Go(func() {
					var r childResult
					json.Unmarshal([]byte(k.await(t, fmt.Sprintf("CHILD %d ", trial))), &r)
					results[i] = r
					mu.Lock()
					if r.Busy {
						busy++
						if busy == len(kids)-1 {
							os.WriteFile(waitFile, nil, 0o600)
						}
					}
					mu.Unlock()
				})
			}
			// If the count never reaches n-1 the winner would wait forever:
			// release it after 10 s in any case.
			timer := time.AfterFunc(10*time.Second, func() { os.WriteFile(waitFile, nil, 0o600) })
			wg.Wait()
			timer.Stop()
			trained, nbusy := 0, 0
			for _, r := range results {
				runs++
				if r.Trained {
					trained++
					if r.Outcome != string(trigger.OutcomeDeployed) {
						t.Errorf("winner: %+v", r)
					}
				}
				if r.Busy {
					nbusy++
					busyMs = append(busyMs, r.Millis)
					if r.Millis > 2000 {
						t.Errorf("ErrBusy after %.1f ms", r.Millis)
					}
				}
			}
			if trained != 1 || nbusy != p.procs-1 {
				bad++
				t.Errorf("%d procs, trial %d: %d trained, %d busy: %+v", p.procs, trial, trained, nbusy, results)
			}
			trialsDone++
		}
		for _, k := range kids {
			k.cmd.Wait()
		}
	}
	slices.Sort(busyMs)
	pct := func(q float64) float64 {
		if len(busyMs) == 0 {
			return 0
		}
		return busyMs[min(len(busyMs)-1, int(q*float64(len(busyMs))))]
	}
	h := readHistory(t, filepath.Join(root, "retrain_history.jsonl"))
	if len(h) != trialsDone {
		t.Errorf("%d history lines for %d trials", len(h), trialsDone)
	}
	t.Logf(`REL {"test": "processes", "runs": %d, "trials": %d, "bad": %d, "busy_returns": %d, "busy_ms_p50": %.2f, "busy_ms_p99": %.2f, "busy_ms_max": %.2f}`,
		runs, trialsDone, bad, len(busyMs), pct(0.5), pct(0.99), pct(1))
}

// TestRun_HolderKilled: a run SIGKILLed mid-training leaves its lock to the
// kernel; the next run takes it at once, records the dead run as failed and
// reaps its temp files.
func TestRun_HolderKilled(t *testing.T) {
	root := t.TempDir()
	k := startChild(t, root, "", filepath.Join(root, "never"), 1)
	k.await(t, "READY 0")
	k.await(t, "TRAINING")
	marker, err := os.ReadFile(filepath.Join(root, "retrain.lock.run"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		RunID string `json:"retrain_id"`
	}
	json.Unmarshal(marker, &m)
	// A temp file as a dying atomic write would leave it.
	leftover := filepath.Join(root, ".retrain_history.jsonl.123.tmp")
	os.WriteFile(leftover, []byte("partial"), 0o600)
	k.cmd.Process.Signal(syscall.SIGKILL)
	k.cmd.Wait()

	e := &env{data: &memData{base: samples(20, dataset.SourceSeed, "happy", "sad")}, models: backup.NewMemStore(), trainer: &fakeTrainer{}, dir: root, events: &eventLog{}}
	e.r2(t, func(*retrain.Config) {})
	start := time.Now()
	res, err := e.r.Run(context.Background(), retrain.RunOptions{})
	took := time.Since(start)
	if err != nil || !res.Deployed {
		t.Fatalf("Run after kill: %+v, %v", res, err)
	}
	h := e.history(t)
	bad := 0
	if len(h) != 2 || h[0].RetrainID != m.RunID || h[0].Status != trigger.OutcomeFailed || h[0].Stage != "interrupted" {
		bad++
		t.Errorf("history = %+v", h)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		bad++
		t.Error("temp file not reaped")
	}
	if _, err := os.Stat(filepath.Join(root, "retrain.lock.run")); !errors.Is(err, os.ErrNotExist) {
		bad++
		t.Error("run marker left behind")
	}
	t.Logf(`REL {"test": "holder_killed", "runs": 1, "bad": %d, "next_run_ms": %.1f}`, bad, float64(took.Microseconds())/1000)
}
