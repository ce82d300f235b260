package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"moodfood/dataset"
	"moodfood/internal/pgtest"
	"moodfood/model"
	"moodfood/retrain"
	"moodfood/retrain/pgstore"
	"moodfood/trigger"
)

// The reliability tests of many replicas on one PostgreSQL. They print REL
// lines under -v. MOODFOOD_LONG=1 runs the full trial counts.

func long() bool { return os.Getenv("MOODFOOD_LONG") == "1" }

// pgDemo migrates a fresh schema of url, loads the demo with a first forced
// run and returns the environment that points cronjob at it.
func pgDemo(t *testing.T, url string) []string {
	t.Helper()
	demo, err := filepath.Abs("../../demo")
	if err != nil {
		t.Fatal(err)
	}
	return pgInit(t, url, demo)
}

// pgSmall is pgDemo with a small base set (60 samples, 3 intents), so that
// a run takes little more than starting the process: for the tests that
// run, kill and restart many times.
func pgSmall(t *testing.T, url string) []string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "data"), 0o700)
	var b bytes.Buffer
	words := map[string][]string{
		"meal_dinner":  {"dinner", "supper", "evening", "meal", "tonight"},
		"goal_comfort": {"cozy", "warm", "soup", "comfort", "blanket"},
		"mood_happy":   {"happy", "great", "joy", "sunny", "cheerful"},
	}
	for label, ws := range words {
		for i := range 20 {
			line, _ := json.Marshal(dataset.Sample{Text: fmt.Sprintf("%s %s %s %d", ws[i%5], ws[(i+1)%5], ws[(i+2)%5], i), Labels: []string{label}})
			b.Write(append(line, '\n'))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "intent_dataset.jsonl"), b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return pgInit(t, url, dir)
}

func pgInit(t *testing.T, url, src string) []string {
	t.Helper()
	env := []string{"MOODFOOD_DATABASE_URL=" + url, "MOODFOOD_DATABASE_SCHEMA=" + pgtest.Schema(t)}
	cronjob(t, env, "run", "--force", "--init", src).want(t, exitOK, "run --init")
	return env
}

// pgOpen opens the schema of env in this process.
func pgOpen(t *testing.T, env []string) *pgstore.DB {
	t.Helper()
	var url, schema string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "MOODFOOD_DATABASE_URL="); ok {
			url = v
		}
		if v, ok := strings.CutPrefix(kv, "MOODFOOD_DATABASE_SCHEMA="); ok {
			schema = v
		}
	}
	db, err := pgstore.Dial(context.Background(), url, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// startCronjob starts "cronjob args..." with env; lines of its stderr go to
// the returned channel (closed at EOF).
func startCronjob(t *testing.T, env []string, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOODFOOD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout = io.Discard
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	return cmd, lines
}

func exitOf(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1000
}

// deployedLoads reports whether the deployed version of db opens, passes its
// checksum and decodes.
func deployedLoads(ctx context.Context, db *pgstore.DB) error {
	ms := db.Models()
	v, err := ms.Current(ctx)
	if err != nil {
		return err
	}
	_, rc, err := ms.Open(ctx, v)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = model.Decode(rc)
	return err
}

// historyParses reports a history that List cannot read whole.
func historyParses(ctx context.Context, db *pgstore.DB) error {
	p, err := db.History().List(ctx, retrain.HistoryFilter{})
	if err != nil {
		return err
	}
	if p.Damaged > 0 {
		return fmt.Errorf("%d damaged history records", p.Damaged)
	}
	return nil
}

// exportedOnce checks that no query was exported twice, and returns the
// query ids of the exported samples.
func exportedOnce(ctx context.Context, db *pgstore.DB) (map[string]int, error) {
	ds, err := db.Dataset(nil)
	if err != nil {
		return nil, err
	}
	snap, err := ds.Preview(ctx)
	if err != nil {
		return nil, err
	}
	ids := map[string]int{}
	dup := 0
	for _, s := range append(snap.Old, snap.New...) {
		if s.QueryID != "" {
			ids[s.QueryID]++
			if ids[s.QueryID] == 2 {
				dup++
			}
		}
	}
	if dup > 0 {
		return ids, fmt.Errorf("%d queries exported twice", dup)
	}
	return ids, nil
}

// TestRel_PgLock: 2, 4 and 8 cronjob run processes at once on one
// database: runs never overlap (the history's intervals are disjoint), every
// process exits 0 (it trained) or 4 (busy); a SIGKILLed holder frees the
// lock at once and the next run records it as interrupted.
func TestRel_PgLock(t *testing.T) {
	env := pgSmall(t, pgtest.URL(t))
	db := pgOpen(t, env)
	ctx := context.Background()
	trials := 2
	if long() {
		trials = 50
	}
	runs, bad, trained, busy, maxTrained := 0, 0, 0, 0, 0
	for _, n := range []int{2, 4, 8} {
		for range trials {
			cmds := make([]*exec.Cmd, n)
			for i := range cmds {
				cmds[i], _ = startCronjob(t, env, "run", "--force")
			}
			k := 0
			for _, c := range cmds {
				switch code := exitOf(c.Wait()); code {
				case exitOK, exitRejected:
					k++
				case exitBusy:
					busy++
				default:
					bad++
					t.Errorf("a run exited %d", code)
				}
				runs++
			}
			trained += k
			maxTrained = max(maxTrained, k)
			if k == 0 {
				bad++
				t.Error("no process trained")
			}
		}
	}
	// Overlaps, from the history: each deployed run's [start, start+duration].
	p, err := db.History().List(ctx, retrain.HistoryFilter{Outcomes: []trigger.Outcome{trigger.OutcomeDeployed}})
	if err != nil {
		t.Fatal(err)
	}
	type span struct{ a, b time.Time }
	var spans []span
	for _, r := range p.Records {
		spans = append(spans, span{r.Timestamp, r.Timestamp.Add(time.Duration(r.DurationSeconds * float64(time.Second)))})
	}
	slices.SortFunc(spans, func(x, y span) int { return x.a.Compare(y.a) })
	overlaps := 0
	for i := 1; i < len(spans); i++ {
		if spans[i].a.Before(spans[i-1].b) {
			overlaps++
		}
	}
	if overlaps > 0 {
		bad += overlaps
		t.Errorf("%d runs overlapped another", overlaps)
	}

	// A SIGKILLed holder.
	cmd, lines := startCronjob(t, env, "run", "--force")
	for l := range lines {
		if strings.Contains(l, "] train") {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	start := time.Now()
	r := cronjob(t, env, "run", "--force")
	took := time.Since(start)
	if r.code != exitOK && r.code != exitRejected {
		bad++
		t.Errorf("run after a killed holder: exit %d: %s", r.code, r.stderr)
	}
	p, err = db.History().List(ctx, retrain.HistoryFilter{Limit: 2})
	if err != nil || len(p.Records) != 2 || p.Records[1].Stage != "interrupted" {
		bad++
		t.Errorf("history after the kill: %+v, %v", p.Records, err)
	}
	t.Logf(`REL {"test": "pg_lock", "runs": %d, "bad": %d, "trials": %d, "trained": %d, "busy": %d, "max_trained_per_trial": %d, "overlaps": %d, "after_kill_run_ms": %d}`,
		runs+1, bad, 3*trials, trained, busy, maxTrained, overlaps, took.Milliseconds())
}

// TestRel_PgKill: a forced run SIGKILLed at a random point, over and over,
// with queries logged in between: the deployed version always loads, the
// history always parses, and no query is ever exported twice. A run that
// starts while the server has not yet noticed the previous kill (a few
// milliseconds) exits 4 (busy): counted, not bad.
func TestRel_PgKill(t *testing.T) {
	env := pgSmall(t, pgtest.URL(t))
	db := pgOpen(t, env)
	ctx := context.Background()
	kills := 200
	if testing.Short() {
		kills = 20
	}
	ql := db.QueryLog(&pgstore.QueryLogOptions{FlushInterval: 10 * time.Millisecond})
	defer ql.Close()
	// Kill points spread over a whole run: up to 1.2 times a full run.
	start := time.Now()
	if r := cronjob(t, env, "run", "--force"); r.code != exitOK && r.code != exitRejected {
		t.Fatalf("a full run: exit %d: %s", r.code, r.stderr)
	}
	full := time.Since(start)
	bad, killed, finished, busy := 0, 0, 0, 0
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range kills {
		for j := range 3 {
			ql.Log(dataset.Query{QueryID: fmt.Sprintf("kill-%d-%d", i, j), Text: fmt.Sprintf("warm soup on a rainy evening %d %d", i, j),
				Method: dataset.MethodLLM, LLMLabels: []string{"goal_comfort"}})
		}
		cmd, _ := startCronjob(t, env, "run", "--force")
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			switch c := exitOf(err); c {
			case exitOK, exitRejected:
				finished++
			case exitBusy: // the server had not yet noticed the last kill
				busy++
			default:
				bad++
				t.Errorf("kill %d: a run exited %d", i, c)
			}
		case <-time.After(time.Duration(rng.Int64N(int64(full) * 6 / 5))):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed++
		}
		if err := deployedLoads(ctx, db); err != nil {
			bad++
			t.Errorf("kill %d: the deployed model does not load: %v", i, err)
		}
		if err := historyParses(ctx, db); err != nil {
			bad++
			t.Errorf("kill %d: %v", i, err)
		}
	}
	if _, err := exportedOnce(ctx, db); err != nil {
		bad++
		t.Error(err)
	}
	t.Logf(`REL {"test": "pg_kill", "runs": %d, "bad": %d, "killed": %d, "finished": %d, "busy": %d, "full_run_ms": %d}`, kills, bad, killed, finished, busy, full.Milliseconds())
}

// TestRel_PgRestart: PostgreSQL restarted the hard way (pg_ctl restart -m
// immediate) while queries are logged and during a run, again and again:
// no logged query is lost (the query log's buffer holds them across the
// restart and nothing was dropped), a run caught by it fails cleanly (exit
// 1) or finishes, the next run succeeds and the deployed model always
// loads. It needs a cluster of its own.
func TestRel_PgRestart(t *testing.T) {
	c := pgtest.Own(t)
	env := pgSmall(t, c.URL)
	db := pgOpen(t, env)
	ctx := context.Background()
	restarts := 20
	if testing.Short() {
		restarts = 5
	}
	ql := db.QueryLog(&pgstore.QueryLogOptions{FlushInterval: 20 * time.Millisecond, CloseTimeout: 30 * time.Second})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	logged := 0
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if ql.Log(dataset.Query{QueryID: fmt.Sprintf("rs-%06d", i), Text: fmt.Sprintf("cozy blanket and tea %d", i),
				Method: dataset.MethodLLM, LLMLabels: []string{"goal_comfort"}}) == nil {
				logged++
			}
		}
	})
	bad, failedClean, finished := 0, 0, 0
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range restarts {
		cmd, _ := startCronjob(t, env, "run", "--force")
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		if err := c.Restart(); err != nil {
			t.Fatal(err)
		}
		switch code := exitOf(cmd.Wait()); code {
		case exitOK, exitRejected:
			finished++
		case exitFailed:
			failedClean++
		default:
			bad++
			t.Errorf("restart %d: the run caught by it exited %d", i, code)
		}
		// The next run succeeds (a gate rejection is a result: the logged
		// traffic shifts the data); checked after every fourth restart and
		// the last, to keep the test short.
		if i%4 == 3 || i == restarts-1 {
			if r := cronjob(t, env, "run", "--force"); r.code != exitOK && r.code != exitRejected {
				bad++
				t.Errorf("restart %d: the next run exited %d: %s", i, r.code, r.stderr)
			}
		}
		if err := deployedLoads(ctx, db); err != nil {
			bad++
			t.Errorf("restart %d: the deployed model does not load: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	if err := ql.Close(); err != nil {
		t.Error(err)
	}
	st := ql.Stats()
	// Every query logged is exported by the last run below, once.
	if r := cronjob(t, env, "run", "--force"); r.code != exitOK && r.code != exitRejected {
		t.Fatalf("last run: exit %d: %s", r.code, r.stderr)
	}
	ids, err := exportedOnce(ctx, db)
	if err != nil {
		bad++
		t.Error(err)
	}
	lost := 0
	for i := range logged {
		if ids[fmt.Sprintf("rs-%06d", i)] != 1 {
			lost++
		}
	}
	if lost > 0 || st.Dropped > 0 || st.Lost > 0 || st.Written != uint64(logged) {
		bad++
		t.Errorf("logged %d, lost %d, stats %+v", logged, lost, st)
	}
	t.Logf(`REL {"test": "pg_restart", "runs": %d, "bad": %d, "restarts": %d, "runs_failed_cleanly": %d, "runs_finished": %d, "queries_logged": %d, "queries_lost": %d, "dropped": %d}`,
		restarts, bad, restarts, failedClean, finished, logged, lost, st.Dropped)
}

var (
	serverOnce sync.Once
	serverBin  string
	serverErr  error
)

// buildServer builds examples/server once for the package.
func buildServer(t *testing.T) string {
	t.Helper()
	serverOnce.Do(func() {
		serverBin = filepath.Join(filepath.Dir(binPath), "server")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if out, err := exec.Command(gobin, "build", "-o", serverBin, "../../server").CombinedOutput(); err != nil {
			serverErr = fmt.Errorf("building the server: %v\n%s", err, out)
		}
	})
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return serverBin
}

// startReplica starts a server on the database of env and returns its
// address once it listens, and a stop function (SIGTERM, which flushes its
// query log, then wait).
func startReplica(t *testing.T, env []string, labels string) (string, func()) {
	t.Helper()
	cmd := exec.Command(buildServer(t), "-addr", "127.0.0.1:0", "-cache-dir", t.TempDir(), "-llm-labels", labels, "-threshold", "2")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOODFOOD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	pr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }) }
	t.Cleanup(stop)
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			go io.Copy(io.Discard, pr)
			return strings.TrimPrefix(a, "http://"), stop
		}
	}
	t.Fatal("the server did not start")
	return "", nil
}

func healthVersion(addr string) string {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var h struct {
		Version string `json:"model_version"`
	}
	json.NewDecoder(resp.Body).Decode(&h)
	return h.Version
}

// TestRel_PgReplicas: three server processes and the cronjob on one
// database. Every query the replicas answer is logged and exported exactly
// once; every replica serves each new deploy (NOTIFY pickup measured from
// the end of the deploying run).
func TestRel_PgReplicas(t *testing.T) {
	env := pgDemo(t, pgtest.URL(t))
	db := pgOpen(t, env)
	ctx := context.Background()
	labels, err := filepath.Abs("../../demo/data/intent_dataset.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	b, _ := os.ReadFile(labels)
	for _, l := range bytes.Split(b, []byte("\n")) {
		var s dataset.Sample
		if json.Unmarshal(l, &s) == nil && len(s.Labels) > 0 && len(strings.TrimSpace(s.Text)) >= 3 {
			texts = append(texts, s.Text)
		}
	}
	var addrs []string
	var stops []func()
	for range 3 {
		a, stop := startReplica(t, env, labels)
		addrs, stops = append(addrs, a), append(stops, stop)
	}
	deploys := 3
	perRound := 200
	if long() {
		deploys, perRound = 10, 1000
	}
	var mu sync.Mutex
	answered := map[string]bool{}
	failed := 0
	traffic := func(round int) {
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for i := w; i < perRound; i += 6 {
					body := fmt.Sprintf(`{"text": %q}`, texts[(round*perRound+i)%len(texts)])
					resp, err := http.Post("http://"+addrs[i%3]+"/classify", "application/json", strings.NewReader(body))
					var a struct {
						QueryID string `json:"query_id"`
					}
					ok := err == nil && resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&a) == nil && a.QueryID != ""
					if err == nil {
						resp.Body.Close()
					}
					mu.Lock()
					if ok {
						answered[a.QueryID] = true
					} else {
						failed++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	bad, never := 0, 0
	var pickup []time.Duration
	for d := range deploys {
		traffic(d)
		cronjob(t, env, "run", "--force").want(t, exitOK, "deploying run")
		end := time.Now()
		want, err := db.Models().Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			for healthVersion(a) != string(want) {
				if time.Since(end) > 10*time.Second {
					never++
					t.Errorf("replica %s never switched to %s", a, want)
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			pickup = append(pickup, time.Since(end))
		}
	}
	// Stop the replicas so that their query logs are flushed, then export.
	for _, stop := range stops {
		stop()
	}
	cronjob(t, env, "run", "--force").want(t, exitOK, "exporting run")
	ids, err := exportedOnce(ctx, db)
	if err != nil {
		bad++
		t.Error(err)
	}
	lost, dup := 0, 0
	for id := range answered {
		switch ids[id] {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	bad += lost + dup + never + failed
	slices.Sort(pickup)
	p99 := pickup[min(len(pickup)-1, len(pickup)*99/100)]
	t.Logf(`REL {"test": "pg_replicas", "runs": %d, "bad": %d, "replicas": 3, "deploys": %d, "queries": %d, "lost": %d, "duplicated": %d, "failed_requests": %d, "never_switched": %d, "pickup_ms_p50": %d, "pickup_ms_p99": %d}`,
		deploys, bad, deploys, len(answered), lost, dup, failed, never, pickup[len(pickup)/2].Milliseconds(), p99.Milliseconds())
}
