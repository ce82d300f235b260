package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const clincSample = `{
 "train": [["what is my balance", "balance"], ["book a table for two", "restaurant_reservation"]],
 "val": [["how much money do i have", "balance"]],
 "test": [["reserve a table tonight", "restaurant_reservation"]],
 "oos_train": [["how do i knit a scarf", "oos"]],
 "oos_val": [["what is the meaning of blue", "oos"]],
 "oos_test": [["tell me about \"quoted\" words", "oos"]]
}`

const nluppSample = `[
 {"text": "i want to book a room for 2 nights", "intents": ["book", "room"], "slots": {"number_of_nights": {"text": "2 nights"}}},
 {"text": "thanks a lot"},
 {"text": "is breakfast included?", "intents": ["breakfast"]}
]`

func TestConvertCLINC(t *testing.T) {
	got, err := convertCLINC([]byte(clincSample))
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"text\":\"what is my balance\",\"labels\":[\"balance\"]}\n{\"text\":\"book a table for two\",\"labels\":[\"restaurant_reservation\"]}\n"; string(got["train"]) != want {
		t.Errorf("train:\n%s\nwant\n%s", got["train"], want)
	}
	if want := "{\"text\":\"tell me about \\\"quoted\\\" words\",\"labels\":[\"oos\"]}\n"; string(got["oos_test"]) != want {
		t.Errorf("oos_test: %s", got["oos_test"])
	}
	for _, bad := range []string{`[]`, `{"train": []}`, strings.Replace(clincSample, `"balance"]]`, `"balance", "x"]]`, 1)} {
		if _, err := convertCLINC([]byte(bad)); err == nil {
			t.Errorf("convertCLINC(%.40q) accepted", bad)
		}
	}
}

func TestConvertNLUPP(t *testing.T) {
	got, err := convertNLUPP([]byte(nluppSample))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"text":"i want to book a room for 2 nights","labels":["book","room"]}
{"text":"thanks a lot","labels":[]}
{"text":"is breakfast included?","labels":["breakfast"]}
`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := convertNLUPP([]byte(`[{"intents": ["x"]}]`)); err == nil {
		t.Error("an entry without text was accepted")
	}
}

// run with local copies writes the files the project reads.
func TestRun_LocalSources(t *testing.T) {
	dir := t.TempDir()
	clinc := filepath.Join(dir, "data_full.json")
	os.WriteFile(clinc, []byte(clincSample), 0o600)
	folds := filepath.Join(dir, "hotels")
	os.MkdirAll(folds, 0o700)
	for i := range nluppFolds {
		os.WriteFile(filepath.Join(folds, fmt.Sprintf("fold%d.json", i)), []byte(nluppSample), 0o600)
	}
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"-out", out, "-clinc", clinc, "-nlupp", folds}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, p := range []string{"clinc150/train.jsonl", "clinc150/oos_test.jsonl", "nlupp_hotels/fold0.jsonl", "nlupp_hotels/fold19.jsonl"} {
		if fi, err := os.Stat(filepath.Join(out, p)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	if !strings.Contains(stdout.String(), "CC BY 3.0") || !strings.Contains(stdout.String(), "CC BY 4.0") {
		t.Errorf("licences not printed:\n%s", stdout.String())
	}
}
