// Command simulate plays a year of the moodfood retraining loop on a real
// data set and measures the seed document's "Expected Improvements": the
// fallback rate to the LLM falls month after month while the answers the ML
// route gives stay right, the test accuracy climbs towards that of a model
// trained on all the clean data, and no deployed month is worse than the one
// before it by more than the gate's tolerance.
//
// Usage:
//
//	go run ./examples/cmd/simulate -data ../shared/data/clinc150 \
//	    [-seed-per-label 5] [-no-corrections] [-months 12] [-noise 0.05] [-feedback-rate 0.8] \
//	    [-target-precision 0.95] [-threshold 0] [-csv out.csv] [-svg out.svg] \
//	    [-json] [-root DIR]
//
// The data set is a directory with train.jsonl, test.jsonl and optionally
// val.jsonl, single- or multi-label. What it does, with every piece the real
// one:
//
//   - train.jsonl is split into a seed set (by a seeded hash, examples until
//     every label, and "no intent", has -seed-per-label of them), written as
//     the curated base set ROOT/data/intent_dataset.jsonl, and the traffic:
//     the rest, shuffled by the same hash and spread evenly over -months
//     simulated 30-day months. val.jsonl, when present, is the golden set
//     ROOT/data/golden_dataset.jsonl: it never trains, the gate scores every
//     candidate on it, and it helps every model earn its routing threshold.
//   - Month 0: retrain.Open(ROOT) runs once (forced) and deploys the first
//     model, trained on the seed set. Month 1's traffic is served by it.
//   - Each query goes through serve.Server.Classify, which routes it with the
//     threshold the serving model earned (see below) and the ambiguity
//     margin. Unsure queries go to a fake LLM that knows the true labels but
//     answers a wrong label set with probability -noise. Every query is logged through dataset's Logger
//     into ROOT/data/logs/query_logs.jsonl.
//   - Users give feedback on a share -feedback-rate of the answers, whatever
//     route gave them (users do not see the route): positive when the answer
//     was right, negative when it was wrong. dataset's default export policy
//     then exports LLM-labelled fallbacks and feedback-confirmed ML answers,
//     rejects anything with negative feedback (which filters out part of the
//     teacher's noise) and never lets the model train on its own unconfirmed
//     answers.
//   - When a user rejects an ML answer, the backend asks the LLM about the
//     query (serve.Server.Correct, unless -no-corrections) and shows its
//     answer; that second answer gets feedback like any other and is
//     exported as an LLM-labelled sample. These are the queries the model
//     got wrong with confidence: without them they would never become
//     samples. Their LLM calls count in the LLM calls column, not in the
//     fallback rate (the share of queries routed to the LLM).
//   - At the end of each month the clock reads start + k·30 days and the
//     retrainer runs (trigger-driven by default, -force to force it): export,
//     merge, train, gate against the deployed model, refit on all the data,
//     deploy. The server reloads the deployed version and its threshold.
//   - Every model in service is scored on test.jsonl; a reference model with
//     the same trainer on all of train.jsonl (clean labels) is scored too.
//
// No threshold is picked by hand: each model earns the lowest routing
// threshold at which its ML-route precision reaches -target-precision (0.95)
// with a one-sided 95% Wilson lower bound, on held-out and golden samples it
// did not train on (retrain.DeriveRouting), and serves with it; -threshold
// fixes one for every model instead. An answer is right when its label set is
// exactly the true one. The reference model earns its threshold on val. The
// trainer is the model package's default (-train-epochs and -train-margin
// change it for the retrainer and the reference alike). Nothing is chosen on
// the test set.
//
// The simulated clock drives every timestamp, the trigger and the stores; it
// runs at real speed within a query, plus -llm-latency per LLM call, so the
// serving latency columns are real compute plus simulated LLM time.
//
// Output: a table per month on stdout (or, with -json, a JSON array of months
// on stdout and the table on stderr), -csv FILE, and -svg FILE, a
// hand-written SVG chart. Progress lines go to stderr unless -quiet. The exit
// code is 0 on success, 1 on a failure, 2 on a usage error, and with -strict
// 3 when a target is not met.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"moodfood/model"
	"moodfood/retrain"
	"moodfood/retrain/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK        = 0
	exitFailed    = 1
	exitUsage     = 2
	exitTargetMis = 3
)

// run is the whole command: it parses args, runs the simulation and writes
// the reports. It returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dataDir   = fs.String("data", "../shared/data/clinc150", "data set `dir` with train.jsonl, test.jsonl and (optional) val.jsonl")
		perLabel  = fs.Int("seed-per-label", DefaultSeedPerLabel, "seed examples per label")
		noCorrect = fs.Bool("no-corrections", false, "do not ask the LLM again when a user rejects an ML answer (serve.Server.Correct)")
		months    = fs.Int("months", 12, "months of traffic")
		noise     = fs.Float64("noise", 0.05, "probability that the fake LLM answers a wrong label")
		seed      = fs.Uint64("seed", 1, "seed of every random choice")
		threshold = fs.Float64("threshold", 0, "routing threshold fixed for every model, overriding their own; 0 = each model's own (see -target-precision)")
		target    = fs.Float64("target-precision", retrain.DefaultTargetPrecision, "ML-route precision each model's routing threshold is derived for, on its hold-out")
		ambiguity = fs.Float64("ambiguity", serve.DefaultAmbiguity, "serving ambiguity margin (negative = off)")
		feedback  = fs.Float64("feedback-rate", defaultFeedbackRate, "share of answers that get user feedback (positive if right, negative if wrong)")
		latency   = fs.Duration("llm-latency", 800*time.Millisecond, "simulated latency of one LLM call (0 = none)")
		root      = fs.String("root", "", "retraining root `dir` to keep (must be empty or absent); default a temporary one, removed")
		force     = fs.Bool("force", false, "force every monthly run instead of letting the trigger decide")
		noRef     = fs.Bool("no-reference", false, "skip the reference model trained on all clean training data")
		csvPath   = fs.String("csv", "", "write the months as CSV to `file`")
		svgPath   = fs.String("svg", "", "write an SVG chart to `file`")
		asJSON    = fs.Bool("json", false, "print a JSON array of months on stdout (the table goes to stderr)")
		quiet     = fs.Bool("quiet", false, "no progress lines")
		strict    = fs.Bool("strict", false, "exit 3 when a target is not met")
		margin    = fs.Float64("train-margin", 0, "trainer's additive softmax margin (model.TrainerOptions.Margin; 0 = model default, negative = off)")
		epochs    = fs.Int("train-epochs", 0, "trainer's epochs at every data size (model.TrainerOptions.Epochs; 0 = the model's automatic choice)")
		holdout   = fs.Float64("holdout", 0, "share of the dataset the retrainer holds out for its gate (retrain.Options.HoldoutFraction; 0 = its default 0.2)")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: simulate [flags]\n\nSimulates months of serving, LLM fallback, logging and monthly retraining on a data set.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "simulate: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *perLabel < 1 || *months < 1 || *threshold < 0 || *threshold >= 1 || *target <= 0 || *target > 1 {
		fmt.Fprintln(stderr, "simulate: -seed-per-label and -months must be at least 1, -threshold in [0, 1), -target-precision in (0, 1]")
		return exitUsage
	}
	corpus, err := loadCorpus(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		return exitFailed
	}
	lat := *latency
	if lat == 0 {
		lat = -1 // Options: negative = none
	}
	o := Options{
		Corpus: corpus, SeedPerLabel: *perLabel, Months: *months, Noise: *noise, Seed: *seed,
		Threshold: *threshold, TargetPrecision: *target, Ambiguity: *ambiguity, FeedbackRate: *feedback, NoCorrections: *noCorrect,
		LLMLatency: lat, Root: *root, Force: *force, NoReference: *noRef, HoldoutFraction: *holdout,
	}
	o.Trainer = &model.TrainerOptions{Margin: *margin, Epochs: *epochs}
	if !*quiet {
		o.Progress = stderr
	}
	sum, err := Simulate(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		return exitFailed
	}
	table := stdout
	if *asJSON {
		if err := writeJSON(stdout, sum); err != nil {
			fmt.Fprintf(stderr, "simulate: %v\n", err)
			return exitFailed
		}
		table = stderr
	}
	if err := writeTable(table, sum); err != nil {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		return exitFailed
	}
	for _, out := range []struct {
		path  string
		write func(io.Writer, *Summary) error
	}{{*csvPath, writeCSV}, {*svgPath, writeSVG}} {
		if out.path == "" {
			continue
		}
		if err := writeFile(out.path, func(w io.Writer) error { return out.write(w, sum) }); err != nil {
			fmt.Fprintf(stderr, "simulate: %v\n", err)
			return exitFailed
		}
	}
	if *strict {
		for _, t := range sum.Targets {
			if !t.Met {
				return exitTargetMis
			}
		}
	}
	return exitOK
}

// writeFile creates or truncates path (0644: a report is meant to be read)
// and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
