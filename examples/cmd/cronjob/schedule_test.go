package main

import (
	"errors"
	"testing"
	"time"
)

// TestParseSchedule is the table of valid and invalid expressions.
func TestParseSchedule(t *testing.T) {
	valid := []struct{ expr, norm string }{
		{"0 3 1 * *", "0 3 1 * *"},
		{"  0   2 * *  0 ", "0 2 * * 0"},
		{"*/15 0-6,22,23 1-31/2 jan-mar,DEC mon-fri", "*/15 0-6,22,23 1-31/2 jan-mar,DEC mon-fri"},
		{"0 0 * * 7", "0 0 * * 7"},
		{"59 23 31 12 sun", "59 23 31 12 sun"},
		{"@daily", "@daily"},
		{"@Weekly", "@weekly"},
	}
	for _, tt := range valid {
		s, err := parseSchedule(tt.expr)
		if err != nil {
			t.Errorf("parseSchedule(%q): %v", tt.expr, err)
			continue
		}
		if s.String() != tt.norm {
			t.Errorf("parseSchedule(%q).String() = %q, want %q", tt.expr, s.String(), tt.norm)
		}
	}
	invalid := []string{
		"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *",
		"* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "5/10 * * * *", "a * * * *",
		"1,,2 * * * *", "-1 * * * *", "+1 * * * *", "* * * foo *", "@reboot", "@every", "1-2-3 * * * *",
		"*/61 * * * *",
	}
	for _, expr := range invalid {
		if _, err := parseSchedule(expr); !errors.Is(err, errSchedule) {
			t.Errorf("parseSchedule(%q) = %v, want errSchedule", expr, err)
		}
	}
}

// TestScheduleNext checks next firings, including dom/dow semantics and
// the last-day guard.
func TestScheduleNext(t *testing.T) {
	loc := time.UTC
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		expr    string
		lastDay bool
		from    string
		want    string // "" = never
	}{
		{"0 3 1 * *", false, "2026-11-27 03:26", "2026-12-01 03:00"},
		{"0 3 1 * *", false, "2026-12-01 03:00", "2027-01-01 03:00"}, // strictly after
		{"0 3 1 * *", false, "2026-12-01 02:59", "2026-12-01 03:00"},
		{"*/15 * * * *", false, "2026-11-27 03:26", "2026-11-27 03:30"},
		{"0 2 * * 0", false, "2026-11-27 03:26", "2026-11-29 02:00"}, // Friday -> Sunday
		{"0 2 * * 7", false, "2026-11-27 03:26", "2026-11-29 02:00"},
		{"0 0 13 * fri", false, "2026-11-27 03:26", "2026-12-04 00:00"},   // dom OR dow
		{"0 0 */10 * fri", false, "2026-11-28 03:26", "2026-12-11 00:00"}, // "*..." dom: AND
		{"0 0 29 2 *", false, "2026-03-01 00:00", "2028-02-29 00:00"},
		{"0 0 31 2 *", false, "2026-03-01 00:00", ""},
		{"0 4 28-31 * *", true, "2026-11-27 00:00", "2026-11-30 04:00"},
		{"0 4 28-31 * *", true, "2027-02-01 00:00", "2027-02-28 04:00"},
		{"0 4 28-31 * *", true, "2028-02-01 00:00", "2028-02-29 04:00"},
		{"@monthly", false, "2026-11-27 03:26", "2026-12-01 00:00"},
	}
	for _, tt := range tests {
		s, err := parseSchedule(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		s.lastDay = tt.lastDay
		got := s.next(at(tt.from))
		if tt.want == "" {
			if !got.IsZero() {
				t.Errorf("%q next(%s) = %v, want never", tt.expr, tt.from, got)
			}
			continue
		}
		if !got.Equal(at(tt.want)) {
			t.Errorf("%q (lastDay %v) next(%s) = %v, want %s", tt.expr, tt.lastDay, tt.from, got, tt.want)
		}
	}
}

// TestScheduleNextDST checks that next always moves forward across a DST
// gap.
func TestScheduleNextDST(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	s, err := parseSchedule("30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	// 2027-03-28 has no 02:30 in Berlin; the next firing must still come,
	// and strictly later.
	from := time.Date(2027, 3, 27, 12, 0, 0, 0, loc)
	var prev time.Time = from
	for range 5 {
		n := s.next(prev)
		if n.IsZero() || !n.After(prev) {
			t.Fatalf("next(%v) = %v", prev, n)
		}
		prev = n
	}
}
