// Command fetchdata downloads the public intent data sets the benchmarks,
// the accuracy tests, evaluate and simulate read, and converts them to the
// project's training-sample JSONL ({"text": "...", "labels": [...]} per
// line):
//
//	go run ./examples/cmd/fetchdata -out ../shared/data
//
// writes
//
//	OUT/clinc150/{train,val,test,oos_train,oos_val,oos_test}.jsonl
//	OUT/nlupp_hotels/fold0.jsonl ... fold19.jsonl
//
// Sources and licences (keep the attribution when you redistribute):
//
//   - CLINC150: Larson et al., "An Evaluation Dataset for Intent
//     Classification and Out-of-Scope Prediction", EMNLP-IJCNLP 2019.
//     Licence CC BY 3.0. File data/data_full.json of
//     https://github.com/clinc/oos-eval (out-of-scope queries get the label
//     "oos").
//   - NLU++ (hotels domain): Casanueva et al., "NLU++: A Multi-Label,
//     Slot-Rich, Generalisable Dataset for Natural Language Understanding in
//     Task-Oriented Dialogue", Findings of NAACL 2022. Licence CC BY 4.0.
//     Files nlupp/data/hotels/fold0.json ... fold19.json of
//     https://github.com/PolyAI-LDN/task-specific-datasets (slots dropped; a
//     query without intents becomes "labels": []).
//
// It needs network access to raw.githubusercontent.com; -clinc and -nlupp
// read local copies of the source files instead (a file for CLINC150, the
// directory of fold files for NLU++). Files are written atomically; existing
// ones are replaced.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"moodfood/internal/atomicfile"
)

const (
	clincURL = "https://raw.githubusercontent.com/clinc/oos-eval/master/data/data_full.json"
	nluppURL = "https://raw.githubusercontent.com/PolyAI-LDN/task-specific-datasets/master/nlupp/data/hotels/fold%d.json"
	// nluppFolds is the number of folds of the hotels domain.
	nluppFolds = 20
	// maxSource bounds one downloaded or read source file.
	maxSource = 64 << 20
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("fetchdata", flag.ContinueOnError)
	fl.SetOutput(stderr)
	out := fl.String("out", "../shared/data", "`directory` to write clinc150/ and nlupp_hotels/ into")
	clinc := fl.String("clinc", "", "read CLINC150 from this local data_full.json instead of downloading it")
	nlupp := fl.String("nlupp", "", "read NLU++ hotels from this local directory of fold*.json instead of downloading")
	only := fl.String("only", "", "fetch only \"clinc150\" or \"nlupp\"")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 || (*only != "" && *only != "clinc150" && *only != "nlupp") {
		fl.Usage()
		return 2
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	if *only != "nlupp" {
		src, err := source(ctx, client, *clinc, clincURL)
		if err == nil {
			err = writeCLINC(filepath.Join(*out, "clinc150"), src, stdout)
		}
		if err != nil {
			fmt.Fprintln(stderr, "fetchdata: clinc150:", err)
			return 1
		}
	}
	if *only != "clinc150" {
		dir := filepath.Join(*out, "nlupp_hotels")
		for i := range nluppFolds {
			local := ""
			if *nlupp != "" {
				local = filepath.Join(*nlupp, fmt.Sprintf("fold%d.json", i))
			}
			src, err := source(ctx, client, local, fmt.Sprintf(nluppURL, i))
			if err == nil {
				err = writeNLUPPFold(dir, i, src, stdout)
			}
			if err != nil {
				fmt.Fprintf(stderr, "fetchdata: nlupp fold %d: %v\n", i, err)
				return 1
			}
		}
	}
	fmt.Fprintln(stdout, "CLINC150: CC BY 3.0, Larson et al. 2019 (github.com/clinc/oos-eval); NLU++: CC BY 4.0, Casanueva et al. 2022 (github.com/PolyAI-LDN/task-specific-datasets)")
	return 0
}

// source returns the bytes of a local file when path is set, else of url.
func source(ctx context.Context, client *http.Client, path, url string) ([]byte, error) {
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readBounded(f)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return readBounded(resp.Body)
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSource+1))
	if err == nil && len(b) > maxSource {
		err = fmt.Errorf("source larger than %d bytes", maxSource)
	}
	return b, err
}

// writeCLINC converts data_full.json into one JSONL file per split.
func writeCLINC(dir string, src []byte, stdout io.Writer) error {
	splits, err := convertCLINC(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range clincSplits {
		p := filepath.Join(dir, name+".jsonl")
		if err := atomicfile.WriteBytes(p, 0o644, splits[name]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", p, len(splits[name]))
	}
	return nil
}

// writeNLUPPFold converts one NLU++ fold file.
func writeNLUPPFold(dir string, i int, src []byte, stdout io.Writer) error {
	b, err := convertNLUPP(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p := filepath.Join(dir, fmt.Sprintf("fold%d.jsonl", i))
	if err := atomicfile.WriteBytes(p, 0o644, b); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", p, len(b))
	return nil
}
