package dataset

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"moodfood/internal/nofollow"
)

// Query-log segments. The active file is PATH (query_logs.jsonl); rotation
// renames it to PATH's stem plus an 8-digit sequence number
// (query_logs.00000007.jsonl) and starts a new active file. Every file the
// Logger creates begins with a header record
// {"schema":1,"type":"segment","seq":N,"created":"..."} carrying the
// sequence number it will have once rotated, so a position (seq, offset)
// stays valid across rotation. Readers skip header records.

// segment is one query-log file.
type segment struct {
	path   string
	seq    int
	active bool
}

func segmentStem(active string) (dir, stem string) {
	dir = filepath.Dir(active)
	stem = strings.TrimSuffix(filepath.Base(active), ".jsonl")
	return dir, stem
}

func segmentPath(active string, seq int) string {
	dir, stem := segmentStem(active)
	return filepath.Join(dir, fmt.Sprintf("%s.%08d.jsonl", stem, seq))
}

// rotatedSegments lists the rotated segments of active, oldest first.
func rotatedSegments(active string) ([]segment, error) {
	dir, stem := segmentStem(active)
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var segs []segment
	for _, e := range ents {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, stem+".")
		if !ok {
			continue
		}
		num, ok := strings.CutSuffix(rest, ".jsonl")
		if !ok || len(num) != 8 {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n <= 0 {
			continue
		}
		segs = append(segs, segment{path: filepath.Join(dir, name), seq: n})
	}
	slices.SortFunc(segs, func(a, b segment) int { return a.seq - b.seq })
	return segs, nil
}

// allSegments lists rotated segments and then the active file (if it
// exists), oldest first, with the active file's sequence number from its
// header (or one past the newest rotated segment when it has none).
func allSegments(active string) ([]segment, error) {
	segs, err := rotatedSegments(active)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(active); err == nil {
		seq, _, ok := readHeader(active)
		if !ok || (len(segs) > 0 && seq <= segs[len(segs)-1].seq) {
			seq = nextSeq(segs)
		}
		segs = append(segs, segment{path: active, seq: seq, active: true})
	}
	return segs, nil
}

func nextSeq(rotated []segment) int {
	if len(rotated) == 0 {
		return 1
	}
	return rotated[len(rotated)-1].seq + 1
}

// header is the first record of every query-log file.
type header struct {
	Schema  int       `json:"schema"`
	Type    string    `json:"type"`
	Seq     int       `json:"seq"`
	Created time.Time `json:"created"`
}

func newHeader(seq int, now time.Time) []byte {
	b, _ := json.Marshal(header{Schema: Schema, Type: TypeSegment, Seq: seq, Created: now.UTC()})
	return b
}

// readHeader reads the header of a query-log file.
func readHeader(path string) (seq int, created time.Time, ok bool) {
	f, err := nofollow.Open(path)
	if err != nil {
		return 0, time.Time{}, false
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 512).ReadSlice('\n')
	if err != nil {
		return 0, time.Time{}, false
	}
	var h header
	if json.Unmarshal(line, &h) != nil || h.Type != TypeSegment || h.Seq <= 0 {
		return 0, time.Time{}, false
	}
	return h.Seq, h.Created, true
}
