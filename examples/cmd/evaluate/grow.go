package main

import (
	"math/rand/v2"
	"strings"

	"moodfood/model"
)

// grow returns n examples: data, then copies of it with deterministic
// perturbations (a typo, a dropped word, two swapped words), so that the
// vocabulary and the matrix grow like real data rather than repeat.
func grow(data []model.Example, n int, seed uint64) []model.Example {
	if n <= len(data) {
		return data[:n]
	}
	out := make([]model.Example, 0, n)
	out = append(out, data...)
	rng := rand.New(rand.NewPCG(seed, 0x5ca1e))
	for i := 0; len(out) < n; i++ {
		ex := data[i%len(data)]
		out = append(out, model.Example{Text: perturb(ex.Text, rng), Labels: ex.Labels})
	}
	return out
}

func perturb(text string, rng *rand.Rand) string {
	words := strings.Fields(text)
	if len(words) == 0 {
		return text
	}
	for range 1 + rng.IntN(2) {
		switch rng.IntN(3) {
		case 0: // typo: replace one letter
			w := rng.IntN(len(words))
			if b := []byte(words[w]); len(b) > 0 {
				b[rng.IntN(len(b))] = byte('a' + rng.IntN(26))
				words[w] = string(b)
			}
		case 1: // drop a word
			if len(words) > 2 {
				w := rng.IntN(len(words))
				words = append(words[:w], words[w+1:]...)
			}
		case 2: // swap neighbours
			if len(words) > 1 {
				w := rng.IntN(len(words) - 1)
				words[w], words[w+1] = words[w+1], words[w]
			}
		}
	}
	return strings.Join(words, " ")
}
