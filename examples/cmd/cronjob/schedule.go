package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// schedule is a parsed five-field cron expression (minute hour day-of-month
// month day-of-week) with the semantics of Vixie/Debian cron:
//
//   - each field is "*" or a comma-separated list of items; an item is a
//     number, a range "a-b", or "*" or a range followed by a step "/n";
//   - month and day-of-week accept three-letter English names (jan, sun),
//     case-insensitive, as single values; day-of-week 0 and 7 are Sunday;
//   - when both day-of-month and day-of-week are restricted (neither starts
//     with "*"), a day matches if either matches; otherwise both must match;
//   - the macros @hourly, @daily, @midnight, @weekly, @monthly, @yearly and
//     @annually stand for their usual expressions; @reboot is refused because
//     there is no time to check a heartbeat against.
//
// Times are evaluated in the location of the time given to next (cron uses
// the system's local time; CRON_TZ lines are not interpreted).
type schedule struct {
	expr                     string // normalized: fields joined by one space
	minute, hour, dom, month uint64 // bit i set: value i matches
	dow                      uint64 // 0..6, Sunday = 0
	domStar, dowStar         bool
	// lastDay restricts matches to the last day of the month (the
	// "--day last" guard in the crontab line).
	lastDay bool
}

// errSchedule marks schedule syntax errors.
var errSchedule = errors.New("invalid cron schedule")

// macros are the @ forms cron accepts, as five-field expressions.
var macros = map[string]string{
	"@hourly":   "0 * * * *",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@weekly":   "0 0 * * 0",
	"@monthly":  "0 0 1 * *",
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
}

// monthNames and dowNames are the names cron accepts in the month and
// day-of-week fields, in value order.
var monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
var dowNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// parseSchedule parses a five-field cron expression or a macro. Errors wrap
// errSchedule and name the offending field.
func parseSchedule(expr string) (*schedule, error) {
	fields := strings.Fields(expr)
	if len(fields) == 1 && strings.HasPrefix(fields[0], "@") {
		m, ok := macros[strings.ToLower(fields[0])]
		if !ok {
			return nil, fmt.Errorf("%w %q: unsupported macro (use five fields or one of @hourly @daily @weekly @monthly @yearly)", errSchedule, expr)
		}
		s, err := parseSchedule(m)
		if err != nil {
			return nil, err
		}
		s.expr = strings.ToLower(fields[0])
		return s, nil
	}
	if len(fields) != 5 {
		return nil, fmt.Errorf("%w %q: want 5 fields (minute hour day-of-month month day-of-week), got %d", errSchedule, expr, len(fields))
	}
	s := &schedule{expr: strings.Join(fields, " ")}
	specs := []struct {
		name     string
		dst      *uint64
		lo, hi   int
		names    []string
		namesLow int
	}{
		{"minute", &s.minute, 0, 59, nil, 0},
		{"hour", &s.hour, 0, 23, nil, 0},
		{"day-of-month", &s.dom, 1, 31, nil, 0},
		{"month", &s.month, 1, 12, monthNames, 1},
		{"day-of-week", &s.dow, 0, 7, dowNames, 0},
	}
	for i, sp := range specs {
		bits, err := parseField(fields[i], sp.lo, sp.hi, sp.names, sp.namesLow)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %s field %q: %v", errSchedule, expr, sp.name, fields[i], err)
		}
		*sp.dst = bits
	}
	if s.dow&(1<<7) != 0 { // 7 is Sunday too
		s.dow = s.dow&^(1<<7) | 1
	}
	s.domStar = strings.HasPrefix(fields[2], "*")
	s.dowStar = strings.HasPrefix(fields[4], "*")
	return s, nil
}

// parseField parses one field into a bit set over [lo, hi].
func parseField(f string, lo, hi int, names []string, namesLow int) (uint64, error) {
	if f == "" {
		return 0, errors.New("empty")
	}
	var bits uint64
	for item := range strings.SplitSeq(f, ",") {
		rng, stepStr, hasStep := strings.Cut(item, "/")
		a, b := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			as, bs, _ := strings.Cut(rng, "-")
			var err error
			if a, err = fieldValue(as, lo, hi, names, namesLow); err != nil {
				return 0, err
			}
			if b, err = fieldValue(bs, lo, hi, names, namesLow); err != nil {
				return 0, err
			}
			if a > b {
				return 0, fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			if hasStep {
				return 0, fmt.Errorf("step %q needs * or a range before it", item)
			}
			v, err := fieldValue(rng, lo, hi, names, namesLow)
			if err != nil {
				return 0, err
			}
			a, b = v, v
		}
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n < 1 || n > hi-lo+1 {
				return 0, fmt.Errorf("bad step %q", stepStr)
			}
			step = n
		}
		for v := a; v <= b; v += step {
			bits |= 1 << uint(v)
		}
	}
	return bits, nil
}

// fieldValue parses a number in [lo, hi] or, when names is set, a name.
func fieldValue(s string, lo, hi int, names []string, namesLow int) (int, error) {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i + namesLow, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || s == "" || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d out of range %d-%d", n, lo, hi)
	}
	return n, nil
}

// String returns the normalized expression.
func (s *schedule) String() string { return s.expr }

// dayMatches reports whether the calendar day of t matches.
func (s *schedule) dayMatches(t time.Time) bool {
	if s.month&(1<<uint(t.Month())) == 0 {
		return false
	}
	dom := s.dom&(1<<uint(t.Day())) != 0
	dow := s.dow&(1<<uint(t.Weekday())) != 0
	var ok bool
	if s.domStar || s.dowStar {
		ok = dom && dow
	} else {
		ok = dom || dow
	}
	if ok && s.lastDay {
		y, m, d := t.Date()
		ok = time.Date(y, m, d+1, 12, 0, 0, 0, t.Location()).Day() == 1
	}
	return ok
}

// next returns the first time strictly after t, to the minute, at which the
// schedule fires, in t's location. It returns the zero time when there is
// none within ten years (such as "0 0 31 2 *").
func (s *schedule) next(t time.Time) time.Time {
	loc := t.Location()
	y, mo, d := t.Date()
	t = time.Date(y, mo, d, t.Hour(), t.Minute()+1, 0, 0, loc)
	limit := t.AddDate(10, 0, 0)
	for t.Before(limit) {
		y, mo, d = t.Date()
		var nt time.Time
		switch {
		case !s.dayMatches(t):
			nt = time.Date(y, mo, d+1, 0, 0, 0, 0, loc)
		case s.hour&(1<<uint(t.Hour())) == 0:
			nt = time.Date(y, mo, d, t.Hour()+1, 0, 0, 0, loc)
		case s.minute&(1<<uint(t.Minute())) == 0:
			nt = time.Date(y, mo, d, t.Hour(), t.Minute()+1, 0, 0, loc)
		default:
			return t
		}
		if !nt.After(t) { // a DST transition folded the clock back
			nt = t.Add(time.Minute)
		}
		t = nt
	}
	return time.Time{}
}
