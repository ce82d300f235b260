package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"moodfood/retrain/report"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestCharts_Golden: the chart data of the fixture (not the pixels) is the
// one in testdata/charts.golden.json; go test -update rewrites it.
func TestCharts_Golden(t *testing.T) {
	got, err := json.MarshalIndent(report.Charts(fixture()), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "charts.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("chart data differs from %s (go test -update rewrites it); got:\n%s", path, got)
	}
}

// TestCharts_Content: the properties the golden file encodes, spelled out:
// run markers by outcome, skipped and failed runs absent from the score
// chart, the per-intent chart sorted by change with the previous version,
// and a day without ML feedback left out of the precision series.
func TestCharts_Content(t *testing.T) {
	cs := report.Charts(fixture())
	byID := map[string]report.Chart{}
	for _, c := range cs {
		byID[c.ID] = c
		if c.Title == "" || c.Desc == "" || c.Empty != "" {
			t.Errorf("chart %s: title %q, desc %q, empty %q", c.ID, c.Title, c.Desc, c.Empty)
		}
	}
	if len(cs) != 6 {
		t.Fatalf("%d charts, want 6", len(cs))
	}
	acc := byID["scores"].Series[0].Points
	var markers []string
	for _, p := range acc {
		markers = append(markers, p.Marker)
	}
	if got := strings.Join(markers, ","); got != "deployed,rejected,deployed,deployed,rolled_back,deployed,rejected" {
		t.Errorf("score markers = %s", got)
	}
	in := byID["intents"]
	if strings.Join(in.Categories, ",") != "goal_comfort,weather_rainy,meal_dinner,emotion_sad" {
		t.Errorf("intent order = %v, want the largest drop first and the largest gain last", in.Categories)
	}
	if len(in.Series[1].Points) != 3 {
		t.Errorf("previous-version bars = %d, want 3 (weather_rainy is new)", len(in.Series[1].Points))
	}
	if n := len(byID["live"].Series[1].Points); n != 9 {
		t.Errorf("ML precision points = %d, want 9 (one day without feedback)", n)
	}
	if rel := byID["reliability"].Series[0].Points; len(rel) != 2 || rel[1].X != 0.9 || rel[1].Y != 0.93 {
		t.Errorf("reliability points = %+v, want the 2 non-empty bins", rel)
	}
}

// TestCharts_Empty: a root with nothing yet gives every chart with an
// explanation instead of data, and the page still renders.
func TestCharts_Empty(t *testing.T) {
	d := &report.Data{Pending: -1}
	for _, c := range report.Charts(d) {
		if c.Empty == "" || c.Desc == "" {
			t.Errorf("chart %s on an empty root: empty %q, desc %q", c.ID, c.Empty, c.Desc)
		}
	}
	var b bytes.Buffer
	if err := report.Page(&b, d); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "<svg"); n != 6 {
		t.Errorf("empty page has %d charts, want 6", n)
	}
}
