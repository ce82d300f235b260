package trigger

import (
	"strconv"
	"time"
)

// plural renders "1 day", "9 days".
func plural(n int, unit string) string {
	switch {
	case n == 1:
		return "1 " + unit
	case unit == "policy":
		return strconv.Itoa(n) + " policies"
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// span splits d into a count of the largest readable unit (day, hour,
// minute, second): one that fits twice, or once exactly. It rounds down, or
// up if ceil.
func span(d time.Duration, ceil bool) (int, string) {
	unit, name := time.Second, "second"
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
		if d >= 2*u.d || (d >= u.d && d%u.d == 0) {
			unit, name = u.d, u.name
			break
		}
	}
	n := d / unit
	if ceil && d%unit != 0 {
		n++
	}
	return int(n), name
}

// dur renders d rounded down: "34 days", "36 hours".
func dur(d time.Duration) string { return plural(span(d, false)) }

// moreTime renders the time still to wait, rounded up: "9 more days".
func moreTime(d time.Duration) string {
	n, unit := span(d, true)
	return plural(n, "more "+unit)
}

// moreSamples renders "12 more samples".
func moreSamples(n int) string { return plural(n, "more sample") }

// pct renders a share as a percentage: 0.234 -> "23.4%".
func pct(x float64) string { return strconv.FormatFloat(x*100, 'f', 1, 64) + "%" }

// age returns now-t, clamped at zero, and whether t lies in the future.
// time.Time.Sub saturates, so no input overflows.
func age(now, t time.Time) (time.Duration, bool) {
	d := now.Sub(t)
	if d < 0 {
		return 0, true
	}
	return d, false
}

// skewText is the phrase every policy uses for a time in the future.
const skewText = "is in the future (clock skew?), age treated as 0"

// newSamples renders "no new samples", "1 new sample", "57 new samples".
func newSamples(n int) string {
	if n == 0 {
		return "no new samples"
	}
	return plural(n, "new sample")
}
