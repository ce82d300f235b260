package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// A curated line with a misspelled "labels" key is reported by run on
// stderr with its file and line, and counted in status --json.
func TestRun_ReportsInvalidCuratedLine(t *testing.T) {
	root := tinyRoot(t, 12)
	addCurated(t, root, `{"text":"pouring rain","label":["weather_rainy"]}`) // line 25
	env, _ := fakeEnv(t)
	r := cronjob(t, env, "run", "--force", "--root", root)
	if !strings.Contains(r.stderr, "warning: 1 invalid sample line(s) skipped at intent_dataset.jsonl:25") {
		t.Fatalf("run (exit %d) does not report the line on stderr:\n%s", r.code, r.stderr)
	}
	st := cronjob(t, env, "status", "--json", "--root", root)
	st.want(t, exitOK, "status --json")
	var s struct {
		LastRun struct {
			DatasetQuality struct {
				Corrupt int `json:"corrupt"`
			} `json:"dataset_quality"`
			Warnings []string `json:"warnings"`
		} `json:"last_run"`
	}
	if err := json.Unmarshal([]byte(st.stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.LastRun.DatasetQuality.Corrupt != 1 || len(s.LastRun.Warnings) == 0 {
		t.Fatalf("status --json: corrupt %d, warnings %q", s.LastRun.DatasetQuality.Corrupt, s.LastRun.Warnings)
	}
}
