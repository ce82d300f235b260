package model

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// PredictPanicError is returned by PredictAll when p.Predict panicked: the
// panic is recovered in the worker goroutine so that the caller can decide
// what to do with it.
type PredictPanicError struct {
	Value any // what Predict panicked with
}

// Error reports the recovered panic value.
func (e *PredictPanicError) Error() string {
	return fmt.Sprintf("model: Predict panicked: %v", e.Value)
}

// PredictAll predicts the text of every example with p, in order, in up to
// workers goroutines (≤ 0 means GOMAXPROCS; at most one per 64 examples), so
// p.Predict must be safe for concurrent use. Each worker checks ctx every 256
// predictions and stops with ctx.Err(); when p is a BatchPredictor, each run
// of 256 is one PredictBatch call. A panic in Predict is recovered and
// returned as a *PredictPanicError. On error the predictions are incomplete.
func PredictAll(ctx context.Context, p Predictor, ex []Example, workers int) ([]Prediction, error) {
	preds := make([]Prediction, len(ex))
	bp, batch := p.(BatchPredictor)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(ex)/64))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	for w := range workers {
		lo, hi := w*len(ex)/workers, (w+1)*len(ex)/workers
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					fail(&PredictPanicError{Value: v})
				}
			}()
			var texts []string
			for i := lo; i < hi; i += 256 {
				if ctx.Err() != nil {
					fail(ctx.Err())
					return
				}
				end := min(i+256, hi)
				if !batch {
					for j := i; j < end; j++ {
						preds[j] = p.Predict(ex[j].Text)
					}
					continue
				}
				texts = texts[:0]
				for _, e := range ex[i:end] {
					texts = append(texts, e.Text)
				}
				copy(preds[i:end], bp.PredictBatch(texts))
			}
		})
	}
	wg.Wait()
	return preds, first
}
