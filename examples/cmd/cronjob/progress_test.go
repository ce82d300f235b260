package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"moodfood/model"
	"moodfood/retrain"
)

// TestProgressPrinter checks the plain and the terminal renderings.
func TestProgressPrinter(t *testing.T) {
	events := []retrain.Progress{{Stage: "trigger", Step: 1, Steps: 3}, {Stage: "train", Step: 2, Steps: 3}}
	for e := 1; e <= 20; e++ {
		events = append(events, retrain.Progress{Stage: "train", Step: 2, Steps: 3,
			Train: &model.Progress{Stage: "fit", Epoch: e, Epochs: 20, Loss: 1 / float64(e)}})
	}
	events = append(events, retrain.Progress{Stage: "gate", Step: 3, Steps: 3})

	var plain bytes.Buffer
	p := &progressPrinter{w: &plain, now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}
	for _, e := range events {
		p.update(e)
	}
	p.finish()
	out := plain.String()
	if strings.Contains(out, "\r") || strings.Contains(out, "\x1b") {
		t.Errorf("plain output has terminal controls: %q", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// 3 stage lines, the first epoch and one line per tenth of the epochs.
	if len(lines) != 3+11 || lines[0] != "2026-01-02T03:04:05Z [1/3] trigger" || !strings.Contains(out, "  fit epoch 20/20 loss 0.0500\n") {
		t.Errorf("plain output:\n%s", out)
	}

	var tty bytes.Buffer
	p = &progressPrinter{w: &tty, tty: true}
	for _, e := range events {
		p.update(e)
	}
	p.finish()
	out = tty.String()
	if !strings.Contains(out, "\r[2/3] train fit ["+strings.Repeat("#", 15)+strings.Repeat(".", 15)+"] epoch 10/20 loss 0.1000\x1b[K") {
		t.Errorf("terminal output lacks the half-way bar: %q", out)
	}
	if !strings.HasSuffix(out, "\r[3/3] gate\x1b[K\n") {
		t.Errorf("terminal output does not end the line: %q", out)
	}
}
