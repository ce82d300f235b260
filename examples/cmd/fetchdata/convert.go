package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// clincSplits are the splits of CLINC150's data_full.json, in order.
var clincSplits = []string{"train", "val", "test", "oos_train", "oos_val", "oos_test"}

// sample is one output line.
type sample struct {
	Text   string   `json:"text"`
	Labels []string `json:"labels"`
}

// convertCLINC turns data_full.json ({"train": [["text", "intent"], ...],
// ...}) into JSONL per split. Every split must be present; an entry must be
// a [text, intent] pair of non-empty strings.
func convertCLINC(src []byte) (map[string][]byte, error) {
	var raw map[string][][]string
	if err := json.Unmarshal(src, &raw); err != nil {
		return nil, fmt.Errorf("not CLINC150's data_full.json: %w", err)
	}
	out := map[string][]byte{}
	for _, name := range clincSplits {
		pairs, ok := raw[name]
		if !ok {
			return nil, fmt.Errorf("data_full.json has no %q split", name)
		}
		var b bytes.Buffer
		for i, p := range pairs {
			if len(p) != 2 || strings.TrimSpace(p[0]) == "" || p[1] == "" {
				return nil, fmt.Errorf("%s entry %d: want [text, intent], got %q", name, i, p)
			}
			if err := appendLine(&b, sample{Text: p[0], Labels: []string{p[1]}}); err != nil {
				return nil, err
			}
		}
		out[name] = b.Bytes()
	}
	return out, nil
}

// nluppEntry is one query of an NLU++ fold file.
type nluppEntry struct {
	Text    *string  `json:"text"`
	Intents []string `json:"intents"`
}

// convertNLUPP turns one NLU++ fold file ([{"text": ..., "intents": [...],
// "slots": {...}}, ...]) into JSONL. Slots are dropped; an entry without
// intents is a "no intent" sample ("labels": []).
func convertNLUPP(src []byte) ([]byte, error) {
	var entries []nluppEntry
	if err := json.Unmarshal(src, &entries); err != nil {
		return nil, fmt.Errorf("not an NLU++ fold file: %w", err)
	}
	var b bytes.Buffer
	for i, e := range entries {
		if e.Text == nil || strings.TrimSpace(*e.Text) == "" {
			return nil, fmt.Errorf("entry %d has no text", i)
		}
		labels := e.Intents
		if labels == nil {
			labels = []string{}
		}
		if err := appendLine(&b, sample{Text: *e.Text, Labels: labels}); err != nil {
			return nil, err
		}
	}
	if len(entries) == 0 {
		return nil, errors.New("empty fold")
	}
	return b.Bytes(), nil
}

func appendLine(b *bytes.Buffer, s sample) error {
	line, err := json.Marshal(s)
	if err != nil {
		return err
	}
	b.Write(line)
	b.WriteByte('\n')
	return nil
}
