package dataset_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"moodfood/dataset"
)

func ExampleMerge() {
	base := []dataset.Sample{{Text: "I'm hungry!", Labels: []string{"goal_comfort"}}}
	newer := []dataset.Sample{
		{Text: "i'm HUNGRY", Labels: []string{"meal_dinner"}, Source: dataset.SourceLLM},
		{Text: "something spicy", Labels: []string{"goal_spicy"}, Source: dataset.SourceFeedback},
	}
	out, st := dataset.Merge(base, nil, newer, nil)
	for _, s := range out {
		fmt.Println(s.Text, s.Labels)
	}
	fmt.Println("conflicts:", st.Conflicts)
	// Output:
	// I'm hungry! [goal_comfort]
	// something spicy [goal_spicy]
	// conflicts: 1
}

func ExampleNormalize() {
	fmt.Printf("%q\n", dataset.Normalize("  I'm   HUNGRY!! "))
	// Output: "i'm hungry"
}

func ExampleFileStore() {
	root, _ := os.MkdirTemp("", "moodfood")
	defer os.RemoveAll(root)
	ctx := context.Background()
	s, err := dataset.OpenFileStore(root, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// Serving side.
	s.Log(dataset.Query{Text: "warm soup on a rainy day", Method: dataset.MethodLLM,
		PrimaryIntent: "meal_lunch", LLMLabels: []string{"goal_comfort"}})
	l, _ := s.Logger()
	l.Flush(ctx)
	// Retraining side.
	snap, err := s.Snapshot(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(snap.New), snap.New[0].Source, snap.New[0].Labels)
	s.Commit(ctx, snap.Mark) // after a deploy
	n, _ := s.Pending(ctx)
	fmt.Println("pending:", n)
	// Output:
	// 1 llm [goal_comfort]
	// pending: 0
}
