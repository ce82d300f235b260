package model

import (
	"context"
	"testing"
)

func trainCLINC(b *testing.B) (*Classifier, []Example) {
	b.Helper()
	train := clinc(b, "train")
	test := clinc(b, "test")
	c, err := NewTrainer(nil).Train(context.Background(), train, nil)
	if err != nil {
		b.Fatal(err)
	}
	return c, test
}

// BenchmarkPredict times one prediction end to end on CLINC150 test texts
// (falling back to the toy model without the shared data).
func BenchmarkPredict(b *testing.B) {
	var c *Classifier
	var texts []string
	if _, err := statData(); err == nil {
		var test []Example
		c, test = trainCLINC(b)
		for _, ex := range test {
			texts = append(texts, ex.Text)
		}
	} else {
		c = mustTrain(b, nil, toy())
		texts = []string{"I am so hungry, what should I eat tonight?", "feeling a bit sad", "what a great day"}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Predict(texts[i%len(texts)])
		i++
	}
}

// BenchmarkVectorize times the fast feature path alone.
func BenchmarkVectorize(b *testing.B) {
	c, test := trainCLINC(b)
	s := newScratch()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		c.vec.vector(test[i%len(test)].Text, s)
		i++
	}
}

// BenchmarkTrainCLINC150 times vectorizing and fitting CLINC150's 15,000
// training examples with default options.
func BenchmarkTrainCLINC150(b *testing.B) {
	train := clinc(b, "train")
	for b.Loop() {
		if _, err := NewTrainer(nil).Train(context.Background(), train, nil); err != nil {
			b.Fatal(err)
		}
	}
}
