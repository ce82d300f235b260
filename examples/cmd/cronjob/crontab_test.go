package main

import (
	"bytes"
	"strings"
	"testing"
)

// testRoot has a space, to exercise quoting.
const testRoot = "/srv/mood food/root"

// testEntry is a monthly entry for root.
func testEntry(root string) cronEntry {
	return cronEntry{Schedule: "0 3 1 * *", Binary: "/usr/local/bin/cronjob", Root: root}
}

// TestCronEntryLine checks quoting, "%" escaping, the last-day guard and
// reading the schedule back.
func TestCronEntryLine(t *testing.T) {
	e := cronEntry{Schedule: "0 4 28-31 * *", LastDay: true, Binary: "/opt/it's/cronjob", Root: "/data/100%/r",
		Args: []string{"--timeout", "2h0m0s"}}
	got := e.line()
	want := `0 4 28-31 * * [ "$(date -d tomorrow +\%d)" = 01 ] && '/opt/it'\''s/cronjob' run --root '/data/100\%/r' '--timeout' '2h0m0s'` +
		` >> '/data/100\%/r/data/logs/cron_retrain.log' 2>&1 # moodfood-retrain root=/data/100\%/r`
	if got != want {
		t.Fatalf("line:\n got %s\nwant %s", got, want)
	}
	s, err := entrySchedule(got)
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != "0 4 28-31 * *" || !s.lastDay {
		t.Errorf("entrySchedule = %q lastDay=%v", s, s.lastDay)
	}
	if roots := findAllEntries([]byte(got + "\n")); len(roots) != 1 || roots[0] != "/data/100%/r" {
		t.Errorf("findAllEntries = %q", roots)
	}
}

// TestUpsertRemove checks the pure editing functions on crafted crontabs.
func TestUpsertRemove(t *testing.T) {
	line := testEntry(testRoot).line()
	other := testEntry("/srv/mood food/root2").line() // a prefix-sharing root
	tests := []struct {
		name       string
		in         string
		wantUpsert string
		wantRemove string
		removed    int
	}{
		{"empty", "", line + "\n", "", 0},
		{"foreign", "MAILTO=a@b\n\n# c\n5 * * * * x\n", "MAILTO=a@b\n\n# c\n5 * * * * x\n" + line + "\n",
			"MAILTO=a@b\n\n# c\n5 * * * * x\n", 0},
		{"no final newline", "5 * * * * x", "5 * * * * x\n" + line + "\n", "5 * * * * x", 0},
		{"replace in place", "A\n" + strings.Replace(line, "0 3 1", "9 9 9", 1) + "\nB", "A\n" + line + "\nB",
			"A\nB", 1},
		{"duplicates collapse", "A\n" + line + "\r\n" + line + "  \nB\n", "A\n" + line + "\nB\n", "A\nB\n", 2},
		{"other root untouched", other + "\n" + line + "\n", other + "\n" + line + "\n", other + "\n", 1},
		{"own last without newline", "A\n" + line, "A\n" + line + "\n", "A\n", 1},
		{"marker alone", "# moodfood-retrain root=" + testRoot + "\nA\n", line + "\nA\n", "A\n", 1},
		{"marker inside word is foreign", "x#moodfood-retrain root=" + testRoot + "\n",
			"x#moodfood-retrain root=" + testRoot + "\n" + line + "\n", "x#moodfood-retrain root=" + testRoot + "\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(upsertEntry([]byte(tt.in), testRoot, line)); got != tt.wantUpsert {
				t.Errorf("upsert:\n got %q\nwant %q", got, tt.wantUpsert)
			}
			got, n := removeEntry([]byte(tt.in), testRoot)
			if string(got) != tt.wantRemove || n != tt.removed {
				t.Errorf("remove: got %q (%d), want %q (%d)", got, n, tt.wantRemove, tt.removed)
			}
			// setup twice leaves one entry
			twice := upsertEntry(upsertEntry([]byte(tt.in), testRoot, line), testRoot, line)
			if c := bytes.Count(twice, []byte(marker(testRoot)+"\n")); c != 1 {
				t.Errorf("upsert twice: %d entries in %q", c, twice)
			}
			if l, ok := findEntry(twice, testRoot); !ok || l != line {
				t.Errorf("findEntry = %q, %v", l, ok)
			}
		})
	}
}

// foreignLines returns the lines of tab, with their terminators, that are
// not root's.
func foreignLines(tab []byte, root string) [][]byte {
	var out [][]byte
	for _, l := range splitLines(tab) {
		if !isOwn(l, marker(root)) {
			out = append(out, l)
		}
	}
	return out
}

// FuzzRemove checks that removing (and adding, then removing) this root's
// entry keeps every foreign line byte for byte and in order.
func FuzzRemove(f *testing.F) {
	line := testEntry(testRoot).line()
	f.Add([]byte("MAILTO=x\n\n# comment\n0 1 * * * foo # moodfood-retrain root=/other\n"), testRoot)
	f.Add([]byte("A\n"+line+"\nB"), testRoot)
	f.Add([]byte(line), testRoot)
	f.Add([]byte("\r\n\n \t\n# moodfood-retrain root=/srv/mood food/root2\n"), testRoot)
	f.Add([]byte("x # moodfood-retrain root=/a%b\n"), "/a%b")
	f.Fuzz(func(t *testing.T, tab []byte, root string) {
		if root == "" || checkPath("root", root) != nil {
			return
		}
		want := bytes.Join(foreignLines(tab, root), nil)
		got, n := removeEntry(tab, root)
		if !bytes.Equal(got, want) {
			t.Fatalf("remove(%q):\n got %q\nwant %q", tab, got, want)
		}
		if n != len(splitLines(tab))-len(foreignLines(tab, root)) {
			t.Fatalf("remove count %d", n)
		}
		if _, ok := findEntry(got, root); ok {
			t.Fatalf("entry left in %q", got)
		}
		e := testEntry(root)
		up := upsertEntry(tab, root, e.line())
		if l, ok := findEntry(up, root); !ok || l != e.line() {
			t.Fatalf("upsert(%q) lost the entry: %q", tab, up)
		}
		// Foreign lines survive the round trip; only a missing final
		// newline may have been added so that the entry starts a line.
		back, _ := removeEntry(up, root)
		fl, bl := foreignLines(tab, root), splitLines(back)
		if len(fl) != len(bl) {
			t.Fatalf("round trip %q -> %q: %d lines, want %d", tab, back, len(bl), len(fl))
		}
		for i := range fl {
			if !bytes.Equal(fl[i], bl[i]) && !(i == len(fl)-1 && bytes.Equal(append(bytes.Clone(fl[i]), '\n'), bl[i])) {
				t.Fatalf("round trip line %d: %q -> %q", i, fl[i], bl[i])
			}
		}
	})
}
