package retrain_test

import (
	"context"
	"errors"
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

// A person rolls back by hand: the previous version is deployed again, the
// rollback is recorded in the history and notified (model.rolled_back), and
// with no older version left the error matches backup.ErrNoPrevious.
func ExampleRetrainer_Rollback() {
	data := &memData{
		base: samples(30, dataset.SourceSeed, "happy", "sad"),
		new:  samples(20, dataset.SourceLLM, "happy", "sad"),
	}
	r, err := retrain.New(retrain.Config{
		Trigger: trigger.Default(),
		Data:    data,
		Trainer: &fakeTrainer{},
		Models:  backup.NewMemStore(),
		Notifier: retrain.NotifierFunc(func(ctx context.Context, e retrain.Event) error {
			fmt.Println("notified:", e.Type, e.Record.Manual)
			return nil
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	first, _ := r.Run(context.Background(), retrain.RunOptions{})
	second, _ := r.Run(context.Background(), retrain.RunOptions{Force: true})

	res, err := r.Rollback(context.Background(), "")
	fmt.Println(res.Outcome, res.OldVersion == second.NewVersion, res.NewVersion == first.NewVersion, err)

	_, err = r.Rollback(context.Background(), "")
	fmt.Println(errors.Is(err, backup.ErrNoPrevious))
	// Output:
	// notified: run.started false
	// notified: model.deployed false
	// notified: run.started false
	// notified: model.deployed false
	// notified: model.rolled_back true
	// rolled_back true true <nil>
	// true
}
