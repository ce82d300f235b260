package dataset

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"moodfood/internal/jsonl"
	"moodfood/internal/nofollow"
)

// readSampleTail calls fn for every sample in path from offset on.
func readSampleTail(path string, offset int64, maxRecord int, fn func(Sample)) error {
	f, err := nofollow.Open(path)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	var scratch []byte
	_, err = jsonl.Read(f, maxRecord, func(line []byte, _ int) error {
		var smp Sample
		if decodeSample(line, &smp, &scratch) != nil {
			return jsonl.ErrSkip
		}
		fn(smp)
		return nil
	})
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}

// readSamples reads a sample file: JSONL, or a JSON array when accept is
// set and the first non-space byte is '['. A missing file is empty. Damaged
// lines are skipped and counted. split, when >= 0, is an offset: samples
// ending at or before it go to old, the rest to new.
func readSamples(path string, maxRecord int, array bool, fn func(s Sample, end int64)) (jsonl.Stats, error) {
	f, err := nofollow.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return jsonl.Stats{}, nil
	}
	if err != nil {
		return jsonl.Stats{}, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return readSamplesFrom(f, filepath.Base(path), maxRecord, array, fn)
}

// readSamplesFrom is readSamples over r; name is the file's name for errors.
func readSamplesFrom(r io.Reader, name string, maxRecord int, array bool, fn func(s Sample, end int64)) (jsonl.Stats, error) {
	br := bufio.NewReaderSize(r, chunkSize)
	if array {
		for {
			c, err := br.ReadByte()
			if err != nil {
				return jsonl.Stats{}, nil
			}
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xEF || c == 0xBB || c == 0xBF {
				continue
			}
			br.UnreadByte()
			if c == '[' {
				return readArray(br, fn)
			}
			break
		}
	}
	rd := jsonl.NewReader(br, maxRecord)
	rd.AllowUnterminated = array
	var scratch []byte
	for {
		line, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return rd.Stats(), nil
		}
		if err != nil {
			return rd.Stats(), fmt.Errorf("dataset: %s: %w", name, err)
		}
		var smp Sample
		if decodeSample(line, &smp, &scratch) != nil || smp.Text == "" {
			rd.Skip()
			continue
		}
		fn(smp, rd.End())
	}
}

// readArray reads a JSON array of samples. A damaged element ends the read
// (a JSON array cannot be resynchronized); it is counted as one bad record.
// An element that is valid JSON but not a sample (no text, no "labels") is
// skipped and counted; BadLines then holds element numbers (1-based).
func readArray(r io.Reader, fn func(s Sample, end int64)) (jsonl.Stats, error) {
	var st jsonl.Stats
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil {
		st.Bad++
		return st, nil
	}
	var scratch []byte
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			st.Bad++
			st.BadLines = append(st.BadLines, st.Lines+1)
			return st, nil
		}
		st.Lines++
		var smp Sample
		if decodeSample(raw, &smp, &scratch) != nil || smp.Text == "" {
			st.Bad++
			if len(st.BadLines) < jsonl.MaxBadLines {
				st.BadLines = append(st.BadLines, st.Lines)
			}
			continue
		}
		fn(smp, 0)
	}
	return st, nil
}
