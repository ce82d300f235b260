package model

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

func envInt(k string, d int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return d
}
func envF(k string, d float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil {
		return v
	}
	return d
}

func TestExp(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	train := clinc(t, "train")
	test := clinc(t, "test")
	o := &TrainerOptions{Epochs: envInt("EPOCHS", 0), LearningRate: envF("LR", 0), L2: envF("L2", 0), BatchSize: envInt("B", 0),
		CharMin: envInt("CMIN", 0), CharMax: envInt("CMAX", 0), MinDF: envInt("MINDF", 0), NoCharNGrams: os.Getenv("NOCHAR") != ""}
	t0 := time.Now()
	c, err := NewTrainer(o).Train(context.Background(), train, func(p Progress) { t.Logf("%v %+v", time.Since(t0), p) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("train %v vocab %d", time.Since(t0), len(c.vec.terms))
	r := Evaluate(c, test, nil)
	t.Logf("acc %.4f macroF1 %.4f ece %.4f", r.Accuracy, r.MacroF1, r.ECE)
}
