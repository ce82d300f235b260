package retrain_test

import (
	"context"
	"fmt"
	"log"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/trigger"
)

// A service that embeds the Retrainer can run it over its own fakes: here an
// in-memory dataset, a rule "trainer" and the in-memory model store.
func ExampleRetrainer_Run() {
	data := &memData{
		base: samples(30, dataset.SourceSeed, "happy", "sad"),
		new:  samples(20, dataset.SourceLLM, "happy", "sad"),
	}
	r, err := retrain.New(retrain.Config{
		Trigger: trigger.TriggerFunc(func(ctx context.Context, s trigger.State) (trigger.Decision, error) {
			return trigger.Decision{Retrain: s.NewSamples >= 10}, nil
		}),
		Data:     data,
		Trainer:  &fakeTrainer{},
		Models:   backup.NewMemStore(),
		Canaries: []retrain.Canary{{Text: "sad about it", Intent: "sad"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	res, err := r.Run(context.Background(), retrain.RunOptions{})
	fmt.Println(res.Outcome, res.Deployed, err)
	for _, c := range res.Record.Checks {
		fmt.Printf("%s %s %g: %v\n", c.Name, c.Op, c.Threshold, c.Passed)
	}

	// Nothing new: the trigger says no.
	res, err = r.Run(context.Background(), retrain.RunOptions{})
	fmt.Println(res.Outcome, res.Skipped, err)
	// Output:
	// deployed true <nil>
	// eval_samples >= 1: true
	// non_finite <= 0: true
	// canary_failures <= 0: true
	// skipped true <nil>
}
