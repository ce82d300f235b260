package serve_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain/serve"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "serve-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Train a model and deploy it, as a retraining run would.
	c, err := model.NewTrainer(&model.TrainerOptions{Seed: 1}).Train(ctx, []model.Example{
		{Text: "i am so sad today", Labels: []string{"emotion_sad"}},
		{Text: "feeling down and blue", Labels: []string{"emotion_sad"}},
		{Text: "i am so happy today", Labels: []string{"emotion_happy"}},
		{Text: "feeling great and cheerful", Labels: []string{"emotion_happy"}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	var body bytes.Buffer
	if err := c.Encode(&body); err != nil {
		log.Fatal(err)
	}
	store, err := backup.OpenFileStore(filepath.Join(dir, "models"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	m, err := store.Put(ctx, backup.Manifest{}, &body)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Deploy(ctx, m.Version); err != nil {
		log.Fatal(err)
	}

	// Serve it, with an offline LLM for the queries the model is unsure of.
	llm := serve.NewLabelLLM([]dataset.Sample{
		{Text: "pizza", Labels: []string{"food_pizza"}},
	}, nil)
	s, err := serve.Open(ctx, store, &serve.Options{LLM: llm})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	for _, text := range []string{"so sad and blue today", "Pizza?"} {
		a, err := s.Classify(ctx, serve.Request{Text: text, SessionID: "user-1"})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s -> %s %v (%s)\n", text, a.Route, a.Labels, a.Reason)
	}
	st := s.Stats()
	fmt.Println("queries:", st.Queries, "served by the deployed version:", st.Versions[0].Version == m.Version)
	// Output:
	// so sad and blue today -> ml [emotion_sad] ()
	// Pizza? -> llm [food_pizza] (ambiguous)
	// queries: 2 served by the deployed version: true
}

func ExampleInCanary() {
	// A session in the canary at 10% stays in it as the fraction grows.
	for _, f := range []float64{0.01, 0.1, 0.5, 1} {
		fmt.Printf("%.2f %v\n", f, serve.InCanary("session-16", f))
	}
	// Output:
	// 0.01 false
	// 0.10 true
	// 0.50 true
	// 1.00 true
}

func ExampleFallbackReason() {
	p := model.Prediction{Label: "meal_dinner", Confidence: 0.55, Labels: []string{"meal_dinner"},
		Ranked: []model.Score{{Label: "meal_dinner", Prob: 0.55}, {Label: "meal_lunch", Prob: 0.40}}}
	fmt.Printf("%q\n", serve.FallbackReason(p, serve.DefaultThreshold, serve.DefaultAmbiguity))
	fmt.Printf("%q\n", serve.FallbackReason(p, 0.6, serve.DefaultAmbiguity))
	fmt.Printf("%q\n", serve.FallbackReason(p, serve.DefaultThreshold, 0.2))
	// Output:
	// ""
	// "low_confidence"
	// "ambiguous"
}

func ExampleLabelLLM() {
	llm := serve.NewLabelLLM([]dataset.Sample{
		{Text: "Something warm, it's freezing!", Labels: []string{"weather_cold", "goal_comfort"}},
	}, &serve.LabelLLMOptions{Default: []string{"no_intent"}})
	for _, text := range []string{"something WARM, it's freezing", "pizza?"} {
		labels, conf, _ := llm.Label(context.Background(), text)
		fmt.Println(labels, conf)
	}
	// Output:
	// [weather_cold goal_comfort] 0.9
	// [no_intent] 0.5
}
