package model

import (
	"fmt"
	"slices"
	"testing"
)

func TestSamplePerLabel(t *testing.T) {
	var data []Example
	for i := range 30 {
		data = append(data, Example{Text: fmt.Sprint("a", i), Labels: []string{"a"}})
		if i < 3 {
			data = append(data, Example{Text: fmt.Sprint("b", i), Labels: []string{"b"}})
		}
		if i < 12 {
			data = append(data, Example{Text: fmt.Sprint("ab", i), Labels: []string{"b", "a"}})
		}
	}
	got := SamplePerLabel(data, 5, 1)
	count := map[string]int{}
	pos := map[string]int{}
	for i, ex := range data {
		pos[ex.Text] = i
	}
	last := -1
	for _, ex := range got {
		count[fmt.Sprint(ex.Labels)]++
		if pos[ex.Text] <= last {
			t.Fatal("sample not in data's order")
		}
		last = pos[ex.Text]
	}
	if count["[a]"] != 5 || count["[b]"] != 3 || count["[b a]"] != 5 || len(got) != 13 {
		t.Errorf("counts %v", count)
	}
	if again := SamplePerLabel(data, 5, 1); !slices.EqualFunc(got, again, func(a, b Example) bool { return a.Text == b.Text }) {
		t.Error("same seed, different sample")
	}
	if other := SamplePerLabel(data, 5, 2); slices.EqualFunc(got, other, func(a, b Example) bool { return a.Text == b.Text }) {
		t.Error("a different seed gave the same sample")
	}
}
