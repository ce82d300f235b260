package retrain_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"moodfood/model"
	"moodfood/retrain"
	"moodfood/retrain/retraintest"
	"moodfood/trigger"
)

func TestFileHistory(t *testing.T) {
	retraintest.TestHistory(t, func(t *testing.T) func() retrain.History {
		path := filepath.Join(t.TempDir(), "logs", "retrain_history.jsonl")
		return func() retrain.History { return retrain.NewFileHistory(path) }
	})
}

func TestMemHistory(t *testing.T) {
	retraintest.TestHistory(t, func(t *testing.T) func() retrain.History {
		h := retrain.NewMemHistory()
		return func() retrain.History { return h }
	})
}

// fullDisk writes half of what it is given, then fails with ENOSPC, as a
// write(2) on a filesystem that runs out of space midway does.
func fullDisk(f *os.File, b []byte) (int, error) {
	n, _ := f.Write(b[:len(b)/2])
	return n, syscall.ENOSPC
}

func histRec(id string, st trigger.Outcome, at time.Time) retrain.Record {
	return retrain.Record{RetrainID: id, Status: st, Timestamp: at, Reason: "r " + id}
}

func listIDs(t *testing.T, h retrain.History) (ids []string, p retrain.HistoryPage) {
	t.Helper()
	p, err := h.List(context.Background(), retrain.HistoryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Records {
		ids = append(ids, r.RetrainID)
	}
	return ids, p
}

// TestFileHistory_FullDisk: an append that fails midway leaves the file as
// it was (no torn line), keeps the run visible to List and Tail as an
// unrecorded record, and the next append that succeeds writes the kept
// records into the history first, in order.
func TestFileHistory_FullDisk(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "retrain_history.jsonl")
	h := retrain.NewFileHistory(path)
	t0 := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	if err := h.Append(ctx, histRec("run-a", trigger.OutcomeDeployed, t0)); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	retrain.SetHistoryWrite(h, fullDisk)
	err := h.Append(ctx, histRec("run-b", trigger.OutcomeFailed, t0.Add(time.Hour)))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk = %v, want ENOSPC", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatalf("a failed append left %q in the file, want it unchanged", after[len(before):])
	}
	ids, p := listIDs(t, h)
	if strings.Join(ids, ",") != "run-b,run-a" || p.Unrecorded != 1 || p.Damaged != 0 {
		t.Fatalf("List after a failed append = %v (unrecorded %d, damaged %d), want run-b,run-a with 1 unrecorded", ids, p.Unrecorded, p.Damaged)
	}
	// Another reader (another process) sees it too, through Tail.
	tail, err := retrain.Tail(ctx, retrain.NewFileHistory(path))
	if err != nil || tail.Last == nil || tail.Last.RetrainID != "run-b" || tail.LastAttempt.RetrainID != "run-b" || tail.Unrecorded != 1 {
		t.Fatalf("Tail after a failed append = %+v, %v", tail, err)
	}
	if err := h.Append(ctx, histRec("run-c", trigger.OutcomeSkipped, t0.Add(2*time.Hour))); err == nil {
		t.Fatal("second append on a full disk succeeded")
	}
	if ids, p := listIDs(t, h); strings.Join(ids, ",") != "run-c,run-b,run-a" || p.Unrecorded != 2 {
		t.Fatalf("List after two failed appends = %v (unrecorded %d)", ids, p.Unrecorded)
	}

	retrain.SetHistoryWrite(h, (*os.File).Write) // space again
	if err := h.Append(ctx, histRec("run-d", trigger.OutcomeDeployed, t0.Add(3*time.Hour))); err != nil {
		t.Fatal(err)
	}
	ids, p = listIDs(t, h)
	if strings.Join(ids, ",") != "run-d,run-c,run-b,run-a" || p.Unrecorded != 0 || p.Damaged != 0 {
		t.Fatalf("List after the disk has space again = %v (unrecorded %d, damaged %d)", ids, p.Unrecorded, p.Damaged)
	}
	if b, _ := os.ReadFile(path); bytes.Count(b, []byte("\n")) != 4 {
		t.Errorf("history file has %d lines, want 4:\n%s", bytes.Count(b, []byte("\n")), b)
	}
	side, err := os.ReadFile(path + ".unrecorded")
	if err != nil || len(side) != retrain.SideRecordBytes || len(bytes.TrimSpace(side)) != 0 {
		t.Errorf("side file after recovery: %d bytes, %q..., err %v; want %d blank bytes", len(side), bytes.TrimSpace(side)[:min(40, len(bytes.TrimSpace(side)))], err, retrain.SideRecordBytes)
	}
}

// TestFileHistory_TornLine: a line torn by a crash mid-append is skipped and
// counted by readers, and the next append starts on a line of its own.
func TestFileHistory_TornLine(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "retrain_history.jsonl")
	h := retrain.NewFileHistory(path)
	t0 := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	if err := h.Append(ctx, histRec("run-a", trigger.OutcomeDeployed, t0)); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"retrain_id":"run-torn","timestamp":"2026-05-01T04:00:00Z","sta`)
	f.Close()
	if ids, p := listIDs(t, h); strings.Join(ids, ",") != "run-a" || p.Damaged != 1 {
		t.Fatalf("List with a torn last line = %v (damaged %d), want run-a and 1 damaged", ids, p.Damaged)
	}
	if err := h.Append(ctx, histRec("run-b", trigger.OutcomeSkipped, t0.Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	ids, p := listIDs(t, h)
	if strings.Join(ids, ",") != "run-b,run-a" || p.Damaged != 1 {
		t.Fatalf("List after appending past a torn line = %v (damaged %d)", ids, p.Damaged)
	}
	tail, _ := retrain.Tail(ctx, h)
	if tail.Last.RetrainID != "run-b" || tail.LastSuccess.RetrainID != "run-a" || tail.Damaged != 1 {
		t.Errorf("Tail = last %s, success %s, damaged %d", tail.Last.RetrainID, tail.LastSuccess.RetrainID, tail.Damaged)
	}
}

// TestRun_HistoryFullDisk: a run whose history line cannot be written (disk
// full) still shows in Status, as the last run, with a problem that says
// so, in this process and in a new Retrainer over the same root; the next
// run with space records both.
func TestRun_HistoryFullDisk(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	if _, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil { // space: creates the side file
		t.Fatal(err)
	}
	h := retrain.NewFileHistory(e.dir + "/retrain_history.jsonl")
	retrain.SetHistoryWrite(h, fullDisk)
	e.r2(t, func(c *retrain.Config) { c.History = h; c.Trigger = always(false) })
	res, err := e.r.Run(ctx, retrain.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*retrain.Retrainer{"same process": e.r, "another process": nil} {
		if r == nil {
			e.r2(t, nil) // a fresh Retrainer on the same file, writes working
			r = e.r
		}
		st, err := r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.LastRun == nil || st.LastRun.RetrainID != res.RunID || st.LastRun.Status != trigger.OutcomeSkipped {
			t.Errorf("%s: Status.LastRun = %+v, want the unrecorded run %s", name, st.LastRun, res.RunID)
		}
		if !strings.Contains(strings.Join(st.Problems, "\n"), "could not be appended") {
			t.Errorf("%s: Status.Problems = %q, want the unrecorded run reported", name, st.Problems)
		}
	}
	if got := e.history(t); len(got) != 1 {
		t.Fatalf("history file has %d records before space returns, want 1", len(got))
	}
	if _, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := e.history(t)
	if len(got) != 3 || got[1].RetrainID != res.RunID {
		t.Fatalf("after space returns the history has %d records (second %v), want 3 with the unrecorded run second", len(got), got)
	}
}

// TestRun_HistoryFullDiskNoSideFile: when even the side record cannot be
// written (it was never created), the Retrainer that ran still reports the
// run from memory.
func TestRun_HistoryFullDiskNoSideFile(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	h := retrain.NewFileHistory(e.dir + "/retrain_history.jsonl")
	retrain.SetHistoryWrite(h, fullDisk)
	e.r2(t, func(c *retrain.Config) { c.History = h; c.Trigger = always(false) })
	res, err := e.r.Run(ctx, retrain.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastRun == nil || st.LastRun.RetrainID != res.RunID {
		t.Errorf("Status.LastRun = %+v, want the unrecorded run %s", st.LastRun, res.RunID)
	}
	if !strings.Contains(strings.Join(st.Problems, "\n"), "could not be recorded") {
		t.Errorf("Status.Problems = %q, want the unrecorded run reported", st.Problems)
	}
}

// TestRun_RecordsEvaluation: a run that trained records the per-intent F1 of
// the candidate and of the model it replaced, the reliability bins and the
// samples by source; a skipped run records none of it.
func TestRun_RecordsEvaluation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	for range 2 {
		if _, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.r2(t, func(c *retrain.Config) { c.Trigger = always(false) })
	if _, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	h := e.history(t)
	if len(h) != 3 {
		t.Fatalf("%d records", len(h))
	}
	first, second, skipped := h[0], h[1], h[2]
	if skipped.Evaluation != nil || skipped.DatasetQuality.Sources != nil {
		t.Errorf("skipped run recorded an evaluation or sources: %+v", skipped)
	}
	for i, rec := range []retrain.Record{first, second} {
		ev := rec.Evaluation
		if ev == nil || len(ev.Intents) != 3 || len(ev.Reliability) != model.DefaultBins {
			t.Fatalf("run %d: evaluation %+v, want 3 intents and model.DefaultBins bins", i, ev)
		}
		n := 0
		for _, b := range ev.Reliability {
			n += b.N
		}
		if n != rec.DatasetQuality.HoldoutSamples {
			t.Errorf("run %d: reliability bins hold %d samples, want the %d held out", i, n, rec.DatasetQuality.HoldoutSamples)
		}
		if src := rec.DatasetQuality.Sources; src["seed"] != 90 || src["llm"] != 30 {
			t.Errorf("run %d: sources %v, want seed 90 and llm 30", i, src)
		}
	}
	if first.Evaluation.Intents[0].OldF1 != nil {
		t.Error("first run (nothing deployed) has an old F1")
	}
	if second.Evaluation.Intents[0].OldF1 == nil {
		t.Error("second run has no old F1 for the model it replaced")
	}
}
