package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeJSONL(t *testing.T, dir, name string, lines []string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fixture(t *testing.T) (train, test string) {
	dir := t.TempDir()
	var tr, te []string
	for i := range 30 {
		tr = append(tr,
			fmt.Sprintf(`{"text": "I am so hungry %d, what can I eat", "labels": ["hungry"]}`, i),
			fmt.Sprintf(`{"text": "feeling sad and down %d", "labels": ["sad"]}`, i),
			fmt.Sprintf(`{"text": "what is the weather %d", "labels": ["oos"]}`, i))
	}
	te = append(te, `{"text": "so hungry", "labels": ["hungry"]}`, `{"text": "very sad", "labels": ["sad"]}`,
		`{"text": "weather tomorrow", "labels": ["oos"]}`)
	return writeJSONL(t, dir, "train.jsonl", tr), writeJSONL(t, dir, "test.jsonl", te)
}

func TestRun_JSON(t *testing.T) {
	train, test := fixture(t)
	save := filepath.Join(t.TempDir(), "m.bin")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-train", train, "-test", test, "-oos-label", "oos", "-json", "-save", save}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out.String())
	}
	for _, k := range []string{"accuracy", "macro_f1", "micro_f1", "in_scope_accuracy", "oos_recall", "train_seconds",
		"predict_p50_us", "predict_p99_us", "n_train", "n_labels", "vocab_size"} {
		if _, ok := got[k]; !ok {
			t.Errorf("missing key %q in %s", k, out.String())
		}
	}
	if got["n_train"].(float64) != 90 || got["n_labels"].(float64) != 3 {
		t.Errorf("n_train %v n_labels %v", got["n_train"], got["n_labels"])
	}

	// compare the saved model with itself: deltas are zero
	out.Reset()
	code = run(context.Background(), []string{"-model", save, "-model2", save, "-test", test, "-json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var cmp struct {
		Delta map[string]float64 `json:"delta_b_minus_a"`
	}
	if err := json.Unmarshal(out.Bytes(), &cmp); err != nil {
		t.Fatal(err)
	}
	if len(cmp.Delta) == 0 || cmp.Delta["accuracy"] != 0 {
		t.Errorf("delta = %v", cmp.Delta)
	}
}

func TestRun_Errors(t *testing.T) {
	train, test := fixture(t)
	bad := writeJSONL(t, t.TempDir(), "bad.jsonl", []string{`{"text": "x", "labels": ["a"]}`, `{not json`})
	notModel := writeJSONL(t, t.TempDir(), "m.bin", []string{"hello"})
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no test", []string{"-train", train}, 2},
		{"bad flag", []string{"-nope"}, 2},
		{"bad jsonl", []string{"-train", bad, "-test", test}, 1},
		{"missing file", []string{"-train", "/nonexistent.jsonl", "-test", test}, 1},
		{"not a model", []string{"-model", notModel, "-test", test}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, &out, &errb); code != tt.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tt.code, errb.String())
			}
		})
	}
}

func TestRun_Report(t *testing.T) {
	train, test := fixture(t)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-train", train, "-test", test, "-scale", "200"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"accuracy", "macro-F1", "predict latency", "trained on 200 examples"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRun_ValAndVariants: -val chooses among the defaults and the named
// variants on the validation file and trains the choice on train+val;
// -variants records the in-training choice; -per-label samples the training
// data; an unknown variant is an error.
func TestRun_ValAndVariants(t *testing.T) {
	train, test := fixture(t)
	runJSON := func(args ...string) map[string]any {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), append(args, "-json"), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		var got map[string]any
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := runJSON("-train", train, "-test", test, "-val", test, "-variants", "word-only,margin4")
	choice, _ := got["val_choice"].([]any)
	if len(choice) != 3 || got["n_train"].(float64) != 93 {
		t.Errorf("val_choice %v, n_train %v (want 3 candidates, 90+3 examples)", got["val_choice"], got["n_train"])
	}
	got = runJSON("-train", train, "-test", test, "-variants", "word-only", "-per-label", "20")
	if cands, _ := got["candidates"].([]any); len(cands) != 2 || got["n_train"].(float64) != 60 {
		t.Errorf("candidates %v, n_train %v", got["candidates"], got["n_train"])
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-train", train, "-test", test, "-variants", "nope"}, &out, &errb); code == 0 {
		t.Error("an unknown variant was accepted")
	}
}
