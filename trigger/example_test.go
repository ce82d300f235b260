package trigger_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"moodfood/trigger"
)

// The seed's alternative thresholds, written in code: retrain when forced,
// after 25 new samples or 14 days, whichever comes first, and not on the
// same data every night after a rejected candidate.
func Example() {
	policy := trigger.Cooldown(
		trigger.Any(
			trigger.Force(),
			trigger.MinNewSamples(25),
			trigger.MaxAge(14*24*time.Hour),
		),
		7*24*time.Hour, // or wait a week after a rejected candidate
		10,             // or 10 more samples than it saw
	)

	now := time.Date(2025, 3, 15, 2, 0, 0, 0, time.UTC)
	d, err := policy.ShouldRetrain(context.Background(), trigger.State{
		Now:         now,
		LastSuccess: now.AddDate(0, 0, -10),
		NewSamples:  13,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("retrain:", d.Retrain)
	fmt.Println(d)
	// Output:
	// retrain: false
	// [ ] cooldown: Clear - no rejected or failed attempt to wait out
	//   [ ] any: Not yet - need 12 more samples or 4 more days
	//     [ ] force: Not forced
	//     [ ] min_new_samples: Not yet - 13 new samples; need 12 more samples
	//     [ ] max_age: Not yet - last retrain 10 days ago; need 4 more days
}

// A custom policy written as a function: retrain when the deployed model's
// held-out macro-F1 is below 0.8, or on the seed's alternative thresholds.
func ExampleTriggerFunc() {
	lowF1 := trigger.TriggerFunc(func(_ context.Context, s trigger.State) (trigger.Decision, error) {
		f1 := s.Metrics["macro_f1"]
		if f1 < 0.8 {
			return trigger.Decision{Retrain: true, Reasons: []trigger.Reason{
				{Policy: "macro_f1", Fired: true, Text: fmt.Sprintf("Degraded - macro-F1 %.2f below 0.80", f1)},
			}}, nil
		}
		return trigger.Decision{Reasons: []trigger.Reason{
			{Policy: "macro_f1", Text: fmt.Sprintf("OK - macro-F1 %.2f", f1)},
		}}, nil
	})
	policy := trigger.Any(lowF1, trigger.Seed(14, 25))

	now := time.Date(2025, 3, 15, 2, 0, 0, 0, time.UTC)
	d, err := policy.ShouldRetrain(context.Background(), trigger.State{
		Now:         now,
		LastSuccess: now.AddDate(0, 0, -3),
		NewSamples:  30,
		Metrics:     map[string]float64{"macro_f1": 0.74},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("retrain:", d.Retrain)
	fmt.Println(d)
	// Output:
	// retrain: true
	// [x] any: Retrain - 2 of 2 policies fired
	//   [x] macro_f1: Degraded - macro-F1 0.74 below 0.80
	//   [x] any: Retrain - 1 of 3 policies fired
	//     [ ] force: Not forced
	//     [x] min_new_samples: Recommended - 30 new samples (threshold 25)
	//     [ ] max_age: Not yet - last retrain 3 days ago; need 11 more days
}

// Default is the seed's policy; a forced run overrides it.
func ExampleDefault() {
	now := time.Date(2025, 3, 15, 2, 0, 0, 0, time.UTC)
	s := trigger.State{Now: now, LastSuccess: now.AddDate(0, 0, -34), NewSamples: 57}
	d, err := trigger.Default().ShouldRetrain(context.Background(), s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d)
	// Output:
	// [x] any: Retrain - 2 of 3 policies fired
	//   [ ] force: Not forced
	//   [x] min_new_samples: Recommended - 57 new samples (threshold 50)
	//   [x] max_age: Overdue - last retrain 34 days ago (limit 30 days)
}

// Drift policies fire only when K of the last N windows breach, and only on
// windows with enough samples.
func ExampleFallbackRate() {
	policy := trigger.FallbackRate(0.15, &trigger.DriftOptions{MinSamples: 100, K: 2, N: 3})
	d, err := policy.ShouldRetrain(context.Background(), trigger.State{Windows: []trigger.Signals{
		{Queries: 400, FallbackRate: 0.22},
		{Queries: 380, FallbackRate: 0.09},
		{Queries: 410, FallbackRate: 0.19},
	}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d)
	// Output:
	// [x] fallback_rate: Degraded - fallback rate 19.0% (limit 15.0%); 2 of the last 3 windows breached (need 2)
}

func ExampleJSDistance() {
	training := map[string]float64{"goal_comfort": 0.5, "meal_dinner": 0.5}
	live := map[string]float64{"goal_comfort": 0.9, "meal_dinner": 0.1}
	fmt.Printf("%.3f\n", trigger.JSDistance(training, live))
	// Output: 0.383
}
