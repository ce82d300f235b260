package dataset

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Pending reports how many samples are new since the committed mark, without
// parsing JSON: the complete lines of training_dataset.jsonl after the
// committed mark, plus an estimate for the queries logged since the last
// export. The estimate counts, by byte patterns in the Logger's fixed field
// layout, LLM fallbacks with LLM labels, queries logged with positive
// feedback, and positive feedback records; it ignores the length, label and
// confidence rules, so it is an upper bound of what the next Export adds.
// Pending takes no lock and writes nothing.
func (s *FileStore) Pending(ctx context.Context) (int, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	var cm committedMark
	if err := readJSON(s.markPath(), &cm); err != nil {
		return 0, err
	}
	n, err := countLines(ctx, s.trainingPath(), cm.Offset, nil)
	if err != nil {
		return 0, err
	}
	var wm exportWatermark
	if err := readJSON(s.exportState(), &wm); err != nil {
		return 0, err
	}
	segs, err := allSegments(s.queryLogPath())
	if err != nil {
		return 0, err
	}
	for _, sg := range segs {
		if sg.seq < wm.Seq {
			continue
		}
		off := int64(0)
		if sg.seq == wm.Seq {
			off = wm.Offset
		}
		m, err := countLines(ctx, sg.path, off, likelySample)
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

var (
	patLLM      = []byte(`"classification_method":"llm","llm_labels":[`)
	patLLMEmpty = []byte(`"llm_labels":[]`)
	patPositive = []byte(`"positive":true`)
	patFailure  = []byte(`"success":false`)
	patQuery    = []byte(`"type":"query"`)
	patFeedback = []byte(`"type":"feedback"`)
)

// likelySample is Pending's cheap guess whether a query-log line will export.
func likelySample(line []byte) bool {
	if len(line) > 160 {
		// text_input is always last, so the fields of interest are before it.
		if i := bytes.Index(line, []byte(`,"text_input":`)); i > 0 {
			line = line[:i]
		}
	}
	if bytes.Contains(line, patFailure) {
		return false
	}
	if bytes.Contains(line, patQuery) {
		return (bytes.Contains(line, patLLM) && !bytes.Contains(line, patLLMEmpty)) ||
			bytes.Contains(line, patPositive)
	}
	return bytes.Contains(line, patFeedback) && bytes.Contains(line, patPositive)
}

// countLines counts complete lines of path from offset on for which keep
// returns true (all when keep is nil). A missing file counts zero.
func countLines(ctx context.Context, path string, offset int64, keep func([]byte) bool) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, fmt.Errorf("dataset: %w", err)
	}
	n := 0
	if keep == nil {
		buf := make([]byte, 256<<10)
		for i := 0; ; i++ {
			m, err := f.Read(buf)
			n += bytes.Count(buf[:m], []byte{'\n'})
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			if err != nil {
				return n, fmt.Errorf("dataset: %w", err)
			}
			if i&255 == 0 {
				if err := ctx.Err(); err != nil {
					return n, err
				}
			}
		}
	}
	br := bufio.NewReaderSize(f, 256<<10)
	long := false
	for i := 0; ; i++ {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if !long && keep(line) {
				n++
			}
			long = false
		case errors.Is(err, bufio.ErrBufferFull):
			long = true // oversized: never a sample
		case errors.Is(err, io.EOF):
			return n, nil
		default:
			return n, fmt.Errorf("dataset: %w", err)
		}
		if i&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
	}
}
