package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"moodfood/internal/atomicfile"
	"moodfood/internal/procstat"
	"moodfood/model"
)

// result is what one model scored; its JSON keys are the tool's contract.
type result struct {
	Source          string   `json:"source"`
	Accuracy        float64  `json:"accuracy"`
	MacroF1         float64  `json:"macro_f1"`
	MicroF1         float64  `json:"micro_f1"`
	SubsetAccuracy  *float64 `json:"subset_accuracy,omitempty"`
	HammingLoss     *float64 `json:"hamming_loss,omitempty"`
	InScopeAccuracy *float64 `json:"in_scope_accuracy,omitempty"`
	OOSRecall       *float64 `json:"oos_recall,omitempty"`
	RejectBelow     float64  `json:"reject_below,omitempty"`
	ECE             float64  `json:"ece"`
	TrainSeconds    float64  `json:"train_seconds,omitempty"`
	TrainCPUSeconds float64  `json:"train_cpu_seconds,omitempty"`
	PredictP50us    float64  `json:"predict_p50_us"`
	PredictP99us    float64  `json:"predict_p99_us"`
	NTrain          int      `json:"n_train"`
	NTest           int      `json:"n_test"`
	NLabels         int      `json:"n_labels"`
	VocabSize       int      `json:"vocab_size"`
	MultiLabel      bool     `json:"multi_label"`
	Threshold       float64  `json:"threshold,omitempty"`
	PeakRSSMB       float64  `json:"peak_rss_mb,omitempty"`
	// Calibration is the model's (see model.Calibration).
	Calibration model.Calibration `json:"calibration"`
	// Candidates are the configurations chosen among with -variants.
	Candidates []model.Candidate `json:"candidates,omitempty"`
	// ValChoice are the configurations chosen among with -val.
	ValChoice []valScore `json:"val_choice,omitempty"`

	report model.Report
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		trainFiles = fs.String("train", "", "comma-separated training JSONL files")
		testFiles  = fs.String("test", "", "comma-separated test JSONL files (required)")
		valFiles   = fs.String("tune-reject", "", "comma-separated validation JSONL files to tune -reject on (with -oos-label)")
		oosLabel   = fs.String("oos-label", "", "out-of-scope label")
		reject     = fs.Float64("reject", 0, "reject predictions with confidence below this (count as out of scope)")
		maxDrop    = fs.Float64("max-drop", 0.02, "with -tune-reject: largest in-scope accuracy drop allowed on validation data")
		modelA     = fs.String("model", "", "load this model instead of training one")
		modelB     = fs.String("model2", "", "a second saved model to compare with")
		save       = fs.String("save", "", "save the trained model to this file")
		asJSON     = fs.Bool("json", false, "print one JSON object")
		scale      = fs.Int("scale", 0, "grow the training data to this many examples by perturbed replication")
		perLabel   = fs.Int("per-label", 0, "train on at most this many examples per label (set), drawn with -sample-seed")
		sampleSeed = fs.Uint64("sample-seed", 1, "seed of the -per-label sample")
		seed       = fs.Uint64("seed", 0, "training seed")
		epochs     = fs.Int("epochs", 0, "training epochs (0 = automatic)")
		noChar     = fs.Bool("no-char", false, "disable character n-grams")
		mode       = fs.String("mode", "auto", "label mode: auto, single or multi")
		tune       = fs.Bool("tune-threshold", false, "multi-label: tune the decision threshold on held-out training data")
		noCal      = fs.Bool("no-calibration", false, "train without calibration (raw softmax/sigmoid confidences)")
		charMin    = fs.Int("char-min", 0, "shortest character n-gram (0 = model default)")
		charMax    = fs.Int("char-max", 0, "longest character n-gram (0 = model default)")
		valChoose  = fs.String("val", "", "comma-separated validation JSONL files: choose among the defaults and -variants (all presets when -variants is empty) by accuracy on them, then train the chosen configuration on train+val")
		variants   = fs.String("variants", "", "comma-separated variants to choose from on held-out folds: "+strings.Join(variantNames(), ", "))
		workers    = fs.Int("workers", 0, "goroutines for training (0 = GOMAXPROCS)")
		top        = fs.Int("top-confused", 5, "confused pairs to print")
		cpuProfile = fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "evaluate:", err)
		return 1
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	if *testFiles == "" || (*trainFiles == "" && *modelA == "") {
		fmt.Fprintln(stderr, "evaluate: need -test and one of -train or -model")
		fs.Usage()
		return 2
	}
	test, err := readFiles(*testFiles)
	if err != nil {
		return fail(err)
	}
	var val []model.Example
	if *valFiles != "" {
		if val, err = readFiles(*valFiles); err != nil {
			return fail(err)
		}
	}
	eval := func(c *model.Classifier, source string) result {
		opts := &model.EvalOptions{OOSLabel: *oosLabel, RejectBelow: *reject, TopConfused: *top}
		if val != nil {
			opts.RejectBelow = model.TuneReject(c, val, opts, *maxDrop)
		}
		r := model.Evaluate(c, test, opts)
		lat := model.MeasureLatency(c, texts(test))
		in := c.Info()
		res := result{
			Source: source, Accuracy: r.Accuracy, MacroF1: r.MacroF1, MicroF1: r.MicroF1, ECE: r.ECE,
			RejectBelow:  opts.RejectBelow,
			PredictP50us: float64(lat.P50.Nanoseconds()) / 1e3, PredictP99us: float64(lat.P99.Nanoseconds()) / 1e3,
			NTrain: in.NTrain, NTest: r.N, NLabels: len(in.Labels), VocabSize: in.VocabSize, MultiLabel: in.MultiLabel,
			Threshold: in.Config.Threshold, Calibration: in.Calibration, Candidates: in.Candidates, report: r,
		}
		if r.MultiLabel {
			res.SubsetAccuracy, res.HammingLoss = &r.SubsetAccuracy, &r.HammingLoss
		}
		if r.OOS {
			res.InScopeAccuracy, res.OOSRecall = &r.InScopeAccuracy, &r.OOSRecall
		}
		return res
	}

	var a result
	var ca *model.Classifier
	if *modelA != "" {
		if ca, err = load(*modelA); err != nil {
			return fail(err)
		}
		a = eval(ca, *modelA)
	} else {
		train, err := readFiles(*trainFiles)
		if err != nil {
			return fail(err)
		}
		if *perLabel > 0 {
			train = model.SamplePerLabel(train, *perLabel, *sampleSeed)
		}
		if *scale > 0 {
			train = grow(train, *scale, *seed)
		}
		opts := &model.TrainerOptions{Seed: *seed, Epochs: *epochs, NoCharNGrams: *noChar, TuneThreshold: *tune, Workers: *workers,
			NoCalibration: *noCal, CharMin: *charMin, CharMax: *charMax}
		if *variants != "" {
			for _, name := range strings.Split(*variants, ",") {
				v, ok := variantPresets[strings.TrimSpace(name)]
				if !ok {
					return fail(fmt.Errorf("unknown variant %q (known: %s)", name, strings.Join(variantNames(), ", ")))
				}
				opts.Variants = append(opts.Variants, v)
			}
		}
		switch *mode {
		case "auto":
		case "single":
			opts.Mode = model.ModeSingle
		case "multi":
			opts.Mode = model.ModeMulti
		default:
			return fail(fmt.Errorf("bad -mode %q", *mode))
		}
		var choice []valScore
		if *valChoose != "" {
			vdata, err := readFiles(*valChoose)
			if err != nil {
				return fail(err)
			}
			vs := opts.Variants
			if len(vs) == 0 {
				for _, n := range variantNames() {
					vs = append(vs, variantPresets[n])
				}
			}
			chosen, scores, err := chooseOnVal(ctx, *opts, vs, train, vdata)
			if err != nil {
				return fail(err)
			}
			opts, choice = &chosen, scores
			train = append(train, vdata...)
		}
		runtime.GC()
		start, cpu0 := time.Now(), procstat.CPUSeconds()
		ca, err = model.NewTrainer(opts).Train(ctx, train, nil)
		if err != nil {
			return fail(err)
		}
		secs, cpu := time.Since(start).Seconds(), procstat.CPUSeconds()-cpu0
		train = nil
		source := "trained on " + *trainFiles
		if *valChoose != "" {
			source += " + " + *valChoose
		}
		a = eval(ca, source)
		a.TrainSeconds, a.TrainCPUSeconds = secs, cpu
		a.ValChoice = choice
		if *save != "" {
			ca.SetMetrics(a.report.Metrics())
			if err := atomicfile.WriteFile(*save, 0o600, ca.Encode); err != nil {
				return fail(err)
			}
		}
	}
	a.PeakRSSMB = float64(procstat.PeakRSS()) / (1 << 20)

	if *modelB == "" {
		if *asJSON {
			return printJSON(stdout, a, stderr)
		}
		printReport(stdout, a)
		return 0
	}
	cb, err := load(*modelB)
	if err != nil {
		return fail(err)
	}
	b := eval(cb, *modelB)
	delta := map[string]float64{}
	ma, mb := a.report.Metrics(), b.report.Metrics()
	for k, va := range mb {
		delta[k] = va - ma[k]
	}
	if *asJSON {
		return printJSON(stdout, map[string]any{"a": a, "b": b, "delta_b_minus_a": delta}, stderr)
	}
	printReport(stdout, a)
	fmt.Fprintln(stdout)
	printReport(stdout, b)
	fmt.Fprintln(stdout, "\nB - A:")
	for _, k := range []string{"accuracy", "macro_f1", "micro_f1", "in_scope_accuracy", "oos_recall", "subset_accuracy", "hamming_loss", "ece"} {
		if d, ok := delta[k]; ok {
			fmt.Fprintf(stdout, "  %-18s %+.4f\n", k, d)
		}
	}
	return 0
}

func printJSON(w io.Writer, v any, stderr io.Writer) int {
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(stderr, "evaluate:", err)
		return 1
	}
	return 0
}

func printReport(w io.Writer, r result) {
	fmt.Fprintf(w, "model: %s\n", r.Source)
	kind := "single-label"
	if r.MultiLabel {
		kind = fmt.Sprintf("multi-label, threshold %.2f", r.Threshold)
	}
	fmt.Fprintf(w, "  %d labels (%s), vocabulary %d, trained on %d examples", r.NLabels, kind, r.VocabSize, r.NTrain)
	if r.TrainSeconds > 0 {
		fmt.Fprintf(w, " in %.2fs (%.2fs CPU)", r.TrainSeconds, r.TrainCPUSeconds)
	}
	fmt.Fprintf(w, "\n  test examples     %d\n", r.NTest)
	fmt.Fprintf(w, "  accuracy          %.4f\n  macro-F1          %.4f\n  micro-F1          %.4f\n  ECE               %.4f\n",
		r.Accuracy, r.MacroF1, r.MicroF1, r.ECE)
	if r.SubsetAccuracy != nil {
		fmt.Fprintf(w, "  subset accuracy   %.4f\n  Hamming loss      %.4f\n", *r.SubsetAccuracy, *r.HammingLoss)
	}
	if r.InScopeAccuracy != nil {
		fmt.Fprintf(w, "  in-scope accuracy %.4f\n  OOS recall        %.4f (reject below %.2f, %d rejected)\n",
			*r.InScopeAccuracy, *r.OOSRecall, r.RejectBelow, r.report.Rejected)
	}
	if c := r.Calibration; c.Method != "none" {
		fmt.Fprintf(w, "  calibration       %s: scale %.3f, bias %.3f, mix %.4f, on %d held-out predictions of %d models\n",
			c.Method, c.Scale, c.Bias, c.Mix, c.N, c.Models)
	} else {
		fmt.Fprintln(w, "  calibration       none")
	}
	for _, c := range r.ValChoice {
		mark := ""
		if c.Chosen {
			mark = "  (chosen, then trained on train+val)"
		}
		fmt.Fprintf(w, "  on -val           %-10s score %.4f%s\n", c.Name, c.Score, mark)
	}
	for _, c := range r.Candidates {
		mark := ""
		if c.Chosen {
			mark = "  (chosen)"
		}
		fmt.Fprintf(w, "  candidate         %-10s held-out score %.4f, NLL %.4f on %d%s\n", c.Name, c.Score, c.NLL, c.N, mark)
	}
	fmt.Fprintf(w, "  predict latency   p50 %.1fµs, p99 %.1fµs\n", r.PredictP50us, r.PredictP99us)
	if r.PeakRSSMB > 0 {
		fmt.Fprintf(w, "  peak RSS          %.0f MB\n", r.PeakRSSMB)
	}
	if len(r.report.Confused) > 0 {
		fmt.Fprintln(w, "  most confused (true -> predicted):")
		for _, c := range r.report.Confused {
			fmt.Fprintf(w, "    %4d  %s -> %s\n", c.Count, c.True, c.Pred)
		}
	}
}

func load(path string) (*model.Classifier, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := model.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// readFiles reads comma-separated JSONL files of examples.
func readFiles(list string) ([]model.Example, error) {
	var out []model.Example
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		ex, err := readJSONL(p)
		if err != nil {
			return nil, err
		}
		out = append(out, ex...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no examples in %q", list)
	}
	return out, nil
}

func readJSONL(path string) ([]model.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []model.Example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var ex model.Example
		if err := json.Unmarshal(b, &ex); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func texts(data []model.Example) []string {
	out := make([]string, len(data))
	for i, ex := range data {
		out[i] = ex.Text
	}
	return out
}
