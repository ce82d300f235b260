package model

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestCalibration_CLINC150 trains on 10, 25 and 50 examples per intent of
// CLINC150's train split (drawn with a fixed seed) and on all of it (100 per
// intent), and checks the top-label ECE (15 bins) on its test split: at most
// 0.03 for every size. It logs the uncalibrated model's ECE beside it.
// Without MOODFOOD_LONG=1 it runs the smallest and the full size only.
func TestCalibration_CLINC150(t *testing.T) {
	longTests(t)
	train, test := clinc(t, "train"), clinc(t, "test")
	sizes := []int{10, 0}
	if os.Getenv("MOODFOOD_LONG") == "1" {
		sizes = []int{10, 25, 50, 0}
	}
	for _, n := range sizes {
		data := train
		name := "all"
		if n > 0 {
			data, name = SamplePerLabel(train, n, 1), fmt.Sprint(n)
		}
		t.Run(name, func(t *testing.T) {
			var ece [2]float64
			var acc [2]float64
			var secs [2]float64
			for i, off := range []bool{true, false} {
				start := time.Now()
				c, err := NewTrainer(&TrainerOptions{NoCalibration: off}).Train(context.Background(), data, nil)
				if err != nil {
					t.Fatal(err)
				}
				secs[i] = time.Since(start).Seconds()
				conf, ok := Confidences(c, test, 0)
				ece[i] = ECE(conf, ok, 0)
				acc[i] = Evaluate(c, test, nil).Accuracy
				if !off {
					cal := c.Info().Calibration
					t.Logf("calibration %+v", cal)
				}
			}
			t.Logf("CAL n=%s train=%d acc %.4f/%.4f ECE uncalibrated %.4f calibrated %.4f train %.2fs/%.2fs", name, len(data), acc[0], acc[1], ece[0], ece[1], secs[0], secs[1])
			if ece[1] > 0.03 {
				t.Errorf("ECE %.4f > 0.03", ece[1])
			}
		})
	}
}
