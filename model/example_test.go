package model_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"

	"moodfood/model"
)

func moods() []model.Example {
	return []model.Example{
		{Text: "I'm so hungry", Labels: []string{"hungry"}},
		{Text: "what should I eat tonight", Labels: []string{"hungry"}},
		{Text: "I am starving", Labels: []string{"hungry"}},
		{Text: "need food now", Labels: []string{"hungry"}},
		{Text: "I feel sad", Labels: []string{"sad"}},
		{Text: "feeling down today", Labels: []string{"sad"}},
		{Text: "I am so sad", Labels: []string{"sad"}},
		{Text: "cheer me up please", Labels: []string{"sad"}},
	}
}

func ExampleTrainer_Train() {
	tr := model.NewTrainer(&model.TrainerOptions{Seed: 1})
	c, err := tr.Train(context.Background(), moods(), nil)
	if err != nil {
		log.Fatal(err)
	}
	p := c.Predict("so hungry, what can I eat?")
	fmt.Println(p.Label, p.Confidence > 0.5, c.Labels())
	// Output: hungry true [hungry sad]
}

func ExampleEvaluate() {
	c, err := model.NewTrainer(nil).Train(context.Background(), moods(), nil)
	if err != nil {
		log.Fatal(err)
	}
	test := []model.Example{
		{Text: "I am hungry", Labels: []string{"hungry"}},
		{Text: "sad today", Labels: []string{"sad"}},
	}
	r := model.Evaluate(c, test, nil)
	fmt.Printf("accuracy %.2f macro-F1 %.2f\n", r.Accuracy, r.MacroF1)
	// Output: accuracy 1.00 macro-F1 1.00
}

func ExampleDecode() {
	c, err := model.NewTrainer(nil).Train(context.Background(), moods(), nil)
	if err != nil {
		log.Fatal(err)
	}
	var file bytes.Buffer
	if err := c.Encode(&file); err != nil {
		log.Fatal(err)
	}
	loaded, err := model.Decode(&file)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.Predict("feeling sad").Label)

	_, err = model.Decode(bytes.NewReader([]byte("not a model")))
	fmt.Println(errors.Is(err, model.ErrFormat))
	// Output:
	// sad
	// true
}

func ExampleSplit() {
	data := moods()
	train, holdout := model.Split(data, 0.25, nil)
	fmt.Println(len(train)+len(holdout) == len(data))
	// The same text always lands on the same side, whatever else is in the data.
	fmt.Println(model.InHoldout(model.NormalizeKey("I am  SAD"), 0.25) == model.InHoldout("i am sad", 0.25))
	// Output:
	// true
	// true
}
