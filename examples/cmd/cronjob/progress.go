package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"moodfood/retrain"
)

// progressPrinter shows a run's progress events. On a terminal it redraws
// one status line with a bar for the long stage (training epochs); otherwise
// it writes plain lines: one per stage, and training at every tenth of the
// epochs, which reads well in cron's log.
type progressPrinter struct {
	w   io.Writer
	tty bool
	// now, if set, stamps the plain lines (cron's log has no times).
	now func() time.Time

	mu        sync.Mutex
	stage     string
	lastTenth int
	drawn     bool // a status line is on screen
}

// barWidth is the number of cells of the terminal bar.
const barWidth = 30

// update handles one progress event; it is safe for concurrent use.
func (p *progressPrinter) update(ev retrain.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	stageLabel := fmt.Sprintf("[%d/%d] %s", ev.Step, ev.Steps, ev.Stage)
	newStage := ev.Stage != p.stage
	if newStage {
		p.stage, p.lastTenth = ev.Stage, -1
	}
	tr := ev.Train
	if !p.tty {
		stamp := ""
		if p.now != nil {
			stamp = p.now().UTC().Format(time.RFC3339) + " "
		}
		if newStage {
			fmt.Fprintln(p.w, stamp+stageLabel)
		}
		if tr != nil && tr.Epochs > 0 && tr.Epoch > 0 {
			if tenth := tr.Epoch * 10 / tr.Epochs; tenth != p.lastTenth {
				p.lastTenth = tenth
				fmt.Fprintf(p.w, "%s  %s epoch %d/%d%s\n", stamp, tr.Stage, tr.Epoch, tr.Epochs, lossText(tr.Loss))
			}
		}
		return
	}
	line := stageLabel
	if tr != nil {
		if tr.Epochs > 0 {
			done := min(max(tr.Epoch, 0), tr.Epochs)
			cells := done * barWidth / tr.Epochs
			line += fmt.Sprintf(" %s [%s%s] epoch %d/%d%s", tr.Stage,
				strings.Repeat("#", cells), strings.Repeat(".", barWidth-cells), done, tr.Epochs, lossText(tr.Loss))
		} else {
			line += " " + tr.Stage
		}
	}
	// \r, the line, then clear to the end of the line.
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	p.drawn = true
}

// finish ends the terminal status line, if any.
func (p *progressPrinter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// lossText renders a training loss, or nothing when it is unknown.
func lossText(loss float64) string {
	if loss <= 0 {
		return ""
	}
	return fmt.Sprintf(" loss %.4f", loss)
}
