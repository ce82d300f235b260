package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"

	"moodfood/dataset"
	"moodfood/internal/jsonl"
)

// LabelLLMOptions tunes a LabelLLM. A nil *LabelLLMOptions and every zero
// field mean the default named in the field's comment.
type LabelLLMOptions struct {
	// Default are the labels given for a text not in the samples. nil means
	// none ("no intent").
	Default []string
	// Confidence is the confidence of an answer from the samples. Zero
	// means 0.9.
	Confidence float64
	// DefaultConfidence is the confidence of a default answer. Zero means
	// 0.5.
	DefaultConfidence float64
	// NoiseRate is the share of texts answered wrongly on purpose: one
	// label drawn from the known labels other than the right first one.
	// Whether a text is noisy, and how, depends only on Seed and the text,
	// so answers are repeatable whatever the order of calls. Zero means no
	// noise.
	NoiseRate float64
	// Seed varies the noise.
	Seed uint64
}

// LabelLLM is an offline stand-in for an LLM teacher, for examples, tests
// and simulations: it answers from labelled samples by exact lookup of the
// normalized text (dataset.Normalize), and otherwise with default labels.
// A LabelLLM is immutable and safe for concurrent use.
type LabelLLM struct {
	answers map[string][]string
	labels  []string // every known label, sorted
	o       LabelLLMOptions
}

// NewLabelLLM returns a LabelLLM answering from samples. A later sample with
// the same normalized text as an earlier one overrides it.
func NewLabelLLM(samples []dataset.Sample, opts *LabelLLMOptions) *LabelLLM {
	l := &LabelLLM{answers: make(map[string][]string, len(samples))}
	if opts != nil {
		l.o = *opts
	}
	if l.o.Confidence == 0 {
		l.o.Confidence = 0.9
	}
	if l.o.DefaultConfidence == 0 {
		l.o.DefaultConfidence = 0.5
	}
	l.o.Default = slices.Clone(l.o.Default)
	seen := map[string]bool{}
	for _, s := range samples {
		l.answers[dataset.Normalize(s.Text)] = slices.Clone(s.Labels)
		for _, lb := range s.Labels {
			if !seen[lb] {
				seen[lb] = true
				l.labels = append(l.labels, lb)
			}
		}
	}
	sort.Strings(l.labels)
	return l
}

// ReadLabelLLM reads JSONL samples ({"text": ..., "labels": [...]}, the
// dataset.Sample form) from r and returns a LabelLLM answering from them.
// Damaged lines are skipped; their count is returned.
func ReadLabelLLM(r io.Reader, opts *LabelLLMOptions) (l *LabelLLM, skipped int, err error) {
	var samples []dataset.Sample
	st, err := jsonl.Read(r, 0, func(line []byte, _ int) error {
		var s dataset.Sample
		if json.Unmarshal(line, &s) != nil || s.Text == "" {
			return jsonl.ErrSkip
		}
		samples = append(samples, s)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("serve: read LLM labels: %w", err)
	}
	return NewLabelLLM(samples, opts), st.Bad, nil
}

// Len returns the number of distinct texts the LabelLLM knows.
func (l *LabelLLM) Len() int { return len(l.answers) }

// Label answers text: its samples' labels, or the default ones, possibly
// made noisy (see LabelLLMOptions.NoiseRate). It fails only when ctx is done.
func (l *LabelLLM) Label(ctx context.Context, text string) ([]string, float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	key := dataset.Normalize(text)
	labels, ok := l.answers[key]
	conf := l.o.Confidence
	if !ok {
		labels, conf = l.o.Default, l.o.DefaultConfidence
	}
	out := slices.Clone(labels)
	if out == nil {
		out = []string{}
	}
	if l.o.NoiseRate > 0 && len(l.labels) > 1 {
		h := mix(l.o.Seed ^ fnv64(key))
		if float64(h>>11)/(1<<53) < l.o.NoiseRate {
			others := l.labels
			if len(out) > 0 {
				others = slices.DeleteFunc(slices.Clone(l.labels), func(s string) bool { return s == out[0] })
			}
			pick := others[mix(h)%uint64(len(others))]
			out = []string{pick}
		}
	}
	return out, math.Min(math.Max(conf, 0), 1), nil
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix is the splitmix64 finalizer.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
