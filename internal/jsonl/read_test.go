package jsonl_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"moodfood/internal/jsonl"
)

// readAll returns the lines Read accepted as JSON objects.
func readAll(t testing.TB, data []byte, max int) ([]string, jsonl.Stats) {
	t.Helper()
	var got []string
	st, err := jsonl.Read(bytes.NewReader(data), max, func(line []byte, _ int) error {
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			return jsonl.ErrSkip
		}
		got = append(got, string(line))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st
}

func TestRead(t *testing.T) {
	long := `{"t":"` + strings.Repeat("x", 100<<10) + `"}`
	tests := []struct {
		name     string
		in       string
		max      int
		want     []string
		bad      []int
		torn     bool
		unterm   bool
		wantOffs int64
	}{
		{name: "Empty", in: "", want: nil},
		{name: "Two", in: "{\"a\":1}\n{\"a\":2}\n", want: []string{`{"a":1}`, `{"a":2}`}},
		{name: "BlankLines", in: "\n\n{\"a\":1}\n  \n{\"a\":2}\n", want: []string{`{"a":1}`, `{"a":2}`}},
		{name: "CRLF", in: "{\"a\":1}\r\n", want: []string{`{"a":1}`}},
		{name: "Garbage", in: "{\"a\":1}\nnot json\n{\"a\":2}\n", want: []string{`{"a":1}`, `{"a":2}`}, bad: []int{2}},
		{name: "TornTail", in: "{\"a\":1}\n{\"a\":", want: []string{`{"a":1}`}, bad: []int{2}, torn: true},
		{name: "CompleteButUnterminated", in: "{\"a\":1}\n{\"a\":2}", want: []string{`{"a":1}`}, bad: []int{2}, torn: true},
		{name: "AllowUnterminated", in: "{\"a\":1}\n{\"a\":2}", unterm: true, want: []string{`{"a":1}`, `{"a":2}`}},
		{name: "LongLine100KiB", in: long + "\n{\"a\":2}\n", want: []string{long, `{"a":2}`}},
		{name: "OverLimit", in: "{\"a\":1}\n" + long + "\n{\"a\":2}\n", max: 64 << 10, want: []string{`{"a":1}`, `{"a":2}`}, bad: []int{2}},
		{name: "OverLimitTorn", in: "{\"a\":1}\n" + long, max: 64 << 10, want: []string{`{"a":1}`}, bad: []int{2}, torn: true},
		{name: "NUL", in: "{\"a\":1}\n\x00\x00\x00\x00\n{\"a\":2}\n", want: []string{`{"a":1}`, `{"a":2}`}, bad: []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := jsonl.NewReader(strings.NewReader(tt.in), tt.max)
			rd.AllowUnterminated = tt.unterm
			var got []string
			for {
				line, err := rd.Next()
				if err != nil {
					break
				}
				if !json.Valid(line) {
					rd.Skip()
					continue
				}
				got = append(got, string(line))
			}
			st := rd.Stats()
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %d lines %.40q, want %d", len(got), got, len(tt.want))
			}
			if !slices.Equal(st.BadLines, tt.bad) || st.Bad != len(tt.bad) {
				t.Errorf("bad lines %v (%d), want %v", st.BadLines, st.Bad, tt.bad)
			}
			if st.Torn != tt.torn {
				t.Errorf("torn = %v, want %v", st.Torn, tt.torn)
			}
			if rest := tt.in[st.Offset:]; !tt.unterm && strings.Contains(rest, "\n") {
				t.Errorf("offset %d leaves complete lines unread", st.Offset)
			}
		})
	}
}

// TestRead_TornTail truncates a file at every byte offset inside each of its
// last three records: the reader must return exactly the records whose
// newline survived, and an append after the tear must be readable.
func TestRead_TornTail(t *testing.T) {
	var recs [][]byte
	for i := range 6 {
		b, _ := json.Marshal(map[string]any{"i": i, "text": fmt.Sprintf("rec \u2028 \"%d\"\nx", i)})
		recs = append(recs, b)
	}
	var full []byte
	var ends []int
	for _, r := range recs {
		full = append(append(full, r...), '\n')
		ends = append(ends, len(full))
	}
	dir := t.TempDir()
	runs, bad := 0, 0
	start := ends[len(ends)-4]
	for cut := start; cut <= len(full); cut++ {
		complete := 0
		for _, e := range ends {
			if e <= cut {
				complete++
			}
		}
		got, _ := readAll(t, full[:cut], 0)
		runs++
		if len(got) != complete {
			bad++
			t.Errorf("cut %d: got %d records, want %d", cut, len(got), complete)
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("f%d.jsonl", cut))
		if err := os.WriteFile(path, full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := jsonl.OpenAppender(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Append([]byte(`{"after":true}`)); err != nil {
			t.Fatal(err)
		}
		a.Close()
		data, _ := os.ReadFile(path)
		got, _ = readAll(t, data, 0)
		want := complete + 1
		if slices.Contains(ends, cut+1) {
			// Only the newline was lost: the append terminates the record,
			// whose bytes were all there, so it is recovered.
			want++
		}
		if len(got) != want || got[len(got)-1] != `{"after":true}` {
			bad++
			t.Errorf("cut %d: after append got %d records, want %d", cut, len(got), want)
		}
	}
	t.Logf("REL {\"test\": %q, \"runs\": %d, \"bad\": %d}", t.Name(), runs, bad)
}

func TestRead_CallbackError(t *testing.T) {
	boom := errors.New("boom")
	_, err := jsonl.Read(strings.NewReader("{}\n{}\n"), 0, func([]byte, int) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n{\"a\":2}\n"))
	f.Add([]byte("{\"a\":1}\n{\"a\":"))
	f.Add([]byte("\x00\x00\n\xff\xfe\n{}\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, max := range []int{8, 0} {
			var total int
			st, err := jsonl.Read(bytes.NewReader(data), max, func(line []byte, n int) error {
				if bytes.IndexByte(line, '\n') >= 0 {
					t.Fatalf("line %d contains a newline", n)
				}
				if max > 0 && len(line) > max {
					t.Fatalf("line %d longer than max", n)
				}
				total += len(line)
				if !json.Valid(line) {
					return jsonl.ErrSkip
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if st.Offset > int64(len(data)) || total > len(data) {
				t.Fatalf("offset %d / total %d beyond input %d", st.Offset, total, len(data))
			}
			if bytes.IndexByte(data[st.Offset:], '\n') >= 0 {
				t.Fatalf("offset %d stops before a complete line", st.Offset)
			}
			if st.Bad > st.Lines+1 {
				t.Fatalf("bad %d > lines %d + torn", st.Bad, st.Lines)
			}
		}
	})
}
