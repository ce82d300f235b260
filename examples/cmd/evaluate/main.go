// Command evaluate trains and scores moodfood intent classifiers: a
// performance comparison tool.
//
//	evaluate -train a.jsonl,b.jsonl -test c.jsonl [-oos-label oos] [-json] [-save out.bin]
//	evaluate -model a.bin -model2 b.bin -test c.jsonl      # compare two saved models
//	evaluate -train train.jsonl -model2 b.bin -test c.jsonl # a fresh model against a saved one
//
// Data files are JSON Lines of {"text": "...", "labels": ["..."]}. With
// -oos-label, examples of that label are out of scope; -reject sets a
// confidence below which predictions count as out of scope, and -tune-reject
// picks it on validation files instead. -scale N grows the training data to
// N examples by replicating it with deterministic perturbations (typos, word
// drops and swaps), for scale tests. -json prints one JSON object.
//
// The work is done by package model; this command parses flags, reads files,
// and prints.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
