package main

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// rng is a small splitmix64 generator, so the output does not depend on
// the standard library's random number algorithms staying the same.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a uniform integer in [0, n).
func (r *rng) intn(n int) int {
	if n <= 0 {
		panic("intn: n <= 0")
	}
	max := ^uint64(0) - ^uint64(0)%uint64(n)
	for {
		v := r.next()
		if v < max {
			return int(v % uint64(n))
		}
	}
}

// float returns a uniform float in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func (r *rng) pick(xs []string) string { return xs[r.intn(len(xs))] }

// chance is true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// entry is one labelled query.
type entry struct {
	Text   string
	Labels []string
}

// parseHand parses "text | label label".
func parseHand(lines []string) ([]entry, error) {
	out := make([]entry, 0, len(lines))
	for _, l := range lines {
		i := strings.LastIndex(l, " | ")
		if i < 0 {
			return nil, fmt.Errorf("hand-written line without labels: %q", l)
		}
		out = append(out, entry{Text: strings.TrimSpace(l[:i]), Labels: strings.Fields(l[i+3:])})
	}
	return out, nil
}

// normKey is the uniqueness key of a text: lower case, every run of
// characters that are not letters or digits collapsed into one space.
func normKey(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		} else {
			space = true
		}
	}
	return b.String()
}

var (
	byName  = indexLabels()
	badPair = indexPairs()
)

func indexLabels() map[string]*label {
	m := map[string]*label{}
	for i := range taxonomy {
		m[taxonomy[i].Name] = &taxonomy[i]
	}
	return m
}

func indexPairs() map[[2]string]bool {
	m := map[[2]string]bool{}
	for _, p := range incompatible {
		m[p] = true
		m[[2]string{p[1], p[0]}] = true
	}
	return m
}

// Phrase pieces shared by all generated queries.
var (
	generic = []string{"what should i eat", "any food ideas", "what should i have", "recommend me something",
		"food suggestions", "what do i eat", "help me pick something to eat", "any ideas", "what's good to eat",
		"what to eat", "feed me", "suggestions"}
	openers = []string{"i want ", "craving ", "give me ", "need ", "looking for ", "recommend ",
		"any ideas for ", "suggest ", "i could go for ", "", "", "gimme ", "in the mood for ", "ideas for ",
		"i really want ", "could use "}
	ctxJoin  = []string{" and ", ", ", " + ", " & ", ". ", " and ", ", plus "}
	ctxSep   = []string{", ", ", ", ". ", " - ", "... ", " so ", " — ", ", so "}
	afterSep = []string{", ", " - ", " — ", ", ", "... "}
	wantJoin = []string{" and ", ", ", " or ", " and "}
	endings  = []string{"", "", "", "?", "?", "?", "!", ".", " pls", " please", "??", " 🙏", " 😭", " lol",
		"...", " thx", " 🍜", " :)"}
	// Log-only phrasing: the query log reuses the fragments but opens and
	// closes queries differently, so its texts are new to the base set.
	logPrefix = []string{"hey, ", "ok so ", "hmm ", "yo ", "help: ", "quick q: ", "hi! ", "so ", "um ",
		"question - ", "moodfood, ", "honestly "}
	logSuffix = []string{" any recs?", " thanks!", " what do you suggest", " go!", " ty", " you pick",
		" surprise me", " (cheap pls)", " for real", " asap"}
)

// composer turns label sets into query texts.
type composer struct {
	r   *rng
	log bool // use the log-only phrasing as well
}

// fragment picks a fragment for l; avoidWant says another label already
// supplies the wanted thing, so meal and occasion labels use a clause or
// suffix instead when they have one.
func (c *composer) fragment(l *label, avoidWant bool) (slot byte, text string) {
	f := c.r.pick(l.Frags)
	if avoidWant && f[0] == 'W' && (l.Group == "meal" || l.Group == "occasion" || l.Group == "activity") {
		var alt []string
		for _, g := range l.Frags {
			if g[0] != 'W' {
				alt = append(alt, g)
			}
		}
		if len(alt) > 0 {
			f = c.r.pick(alt)
		}
	}
	return f[0], f[2:]
}

func joinList(r *rng, xs []string, seps []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	case 2:
		return xs[0] + r.pick(seps) + xs[1]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

// compose writes one query for labels.
func (c *composer) compose(labels []string) string {
	r := c.r
	hasWant := false
	for _, n := range labels {
		switch byName[n].Group {
		case "goal", "sensory", "temperature":
			hasWant = true
		}
	}
	var ctx, wants, sufs []string
	order := append([]string(nil), labels...)
	for i := len(order) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	for _, n := range order {
		slot, t := c.fragment(byName[n], hasWant)
		switch slot {
		case 'C':
			ctx = append(ctx, t)
		case 'W':
			wants = append(wants, t)
		default:
			sufs = append(sufs, t)
		}
	}
	var req string
	if len(wants) == 0 {
		req = r.pick(generic)
	} else {
		req = r.pick(openers) + joinList(r, wants, wantJoin)
	}
	if len(sufs) > 0 {
		req += " " + strings.Join(sufs, " ")
	}
	var s string
	switch {
	case len(ctx) == 0:
		s = req
	case len(wants) == 0 || r.intn(10) < 7:
		s = joinList(r, ctx, ctxJoin) + r.pick(ctxSep) + req
	default:
		s = req + r.pick(afterSep) + joinList(r, ctx, ctxJoin)
	}
	s = strings.TrimRight(s, ",. ")
	if c.log && r.chance(0.5) {
		s = r.pick(logPrefix) + s
	}
	if c.log && r.chance(0.3) {
		s += r.pick(logSuffix)
	} else {
		s += r.pick(endings)
	}
	s = c.typo(s)
	return c.casing(s)
}

var shorthands = [][2]string{{"something", "smth"}, {"something", "somethin"}, {"something", "sth"},
	{"please", "plz"}, {"you", "u"}, {"tonight", "tonite"}, {"because", "cuz"}, {"i'm", "im"},
	{"it's", "its"}, {"what's", "whats"}, {"don't", "dont"}, {"really", "rly"}}

// typo sometimes writes the query the way people type: shorthand, a
// swapped, dropped or doubled letter.
func (c *composer) typo(s string) string {
	r := c.r
	if !r.chance(0.2) {
		return s
	}
	if r.chance(0.5) {
		p := shorthands[r.intn(len(shorthands))]
		if strings.Contains(s, p[0]) {
			return strings.Replace(s, p[0], p[1], 1)
		}
	}
	words := strings.Split(s, " ")
	var long []int
	for i, w := range words {
		if len(w) >= 5 && isASCIILetters(w) {
			long = append(long, i)
		}
	}
	if len(long) == 0 {
		return s
	}
	i := long[r.intn(len(long))]
	w := []byte(words[i])
	k := 1 + r.intn(len(w)-2)
	switch r.intn(3) {
	case 0:
		w[k], w[k+1] = w[k+1], w[k]
	case 1:
		w = append(w[:k:k], w[k+1:]...)
	default:
		w = append(w[:k+1:k+1], w[k:]...)
	}
	words[i] = string(w)
	return strings.Join(words, " ")
}

func isASCIILetters(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// casing leaves most queries lower case and capitalizes or shouts some.
func (c *composer) casing(s string) string {
	switch x := c.r.intn(20); {
	case x < 13:
		return s
	case x < 18:
		r, n := utf8.DecodeRuneInString(s)
		s = string(unicode.ToUpper(r)) + s[n:]
		s = strings.ReplaceAll(s, " i ", " I ")
		return strings.ReplaceAll(s, " i'm ", " I'm ")
	case x < 19 && len(s) < 50:
		return strings.ToUpper(s)
	default:
		r, n := utf8.DecodeRuneInString(s)
		return string(unicode.ToUpper(r)) + s[n:]
	}
}

// labelPicker chooses label sets: the first label is the least used one so
// far (so every label gets enough examples), the others are random labels
// from other groups that make sense together with it.
type labelPicker struct {
	r     *rng
	count map[string]int
}

func (p *labelPicker) pickSet() []string {
	r := p.r
	// How many labels: 1 (15%), 2 (40%), 3 (35%), 4 (10%).
	n := 1
	switch x := r.intn(20); {
	case x < 3:
		n = 1
	case x < 11:
		n = 2
	case x < 18:
		n = 3
	default:
		n = 4
	}
	least := -1
	var firsts []string
	for _, l := range taxonomy {
		switch c := p.count[l.Name]; {
		case least < 0 || c < least:
			least, firsts = c, []string{l.Name}
		case c == least:
			firsts = append(firsts, l.Name)
		}
	}
	set := []string{r.pick(firsts)}
	groups := map[string]bool{byName[set[0]].Group: true}
	for tries := 0; len(set) < n && tries < 50; tries++ {
		// Of three random candidates take the least used.
		var best string
		for k := 0; k < 3; k++ {
			cand := taxonomy[r.intn(len(taxonomy))].Name
			if best == "" || p.count[cand] < p.count[best] {
				best = cand
			}
		}
		if groups[byName[best].Group] {
			continue
		}
		ok := true
		for _, s := range set {
			if badPair[[2]string{s, best}] {
				ok = false
			}
		}
		if ok {
			set = append(set, best)
			groups[byName[best].Group] = true
		}
	}
	return set
}

func (p *labelPicker) add(labels []string) {
	for _, l := range labels {
		p.count[l]++
	}
}

// sortLabels orders labels by taxonomy order.
func sortLabels(ls []string) []string {
	idx := map[string]int{}
	for i, l := range taxonomy {
		idx[l.Name] = i
	}
	out := append([]string(nil), ls...)
	sort.Slice(out, func(i, j int) bool { return idx[out[i]] < idx[out[j]] })
	return out
}
