package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"moodfood/internal/nofollow"
)

// chunkSize is the read size of the chunked scanners (Export's feedback
// pass, Pending).
const chunkSize = 1 << 20

// scanChunks reads path from offset on in big chunks and calls fn with runs
// of complete lines (each ending in '\n'); base is the absolute offset of
// buf[0]. A line longer than maxRecord that does not fit the buffer is
// dropped whole; shorter over-limit lines are passed on and the caller must
// check the limit. The bytes after the last newline (a torn or in-progress
// line) are never passed. A missing file is empty. buf is only valid during
// the call.
func scanChunks(ctx context.Context, path string, offset int64, maxRecord int, fn func(buf []byte, base int64) error) error {
	f, err := nofollow.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	size := chunkSize
	if maxRecord+2 > size/2 {
		size = 2 * (maxRecord + 2)
	}
	full := size
	if fi, err := f.Stat(); err == nil && fi.Size()-offset+1 < int64(size) {
		size = int(max(fi.Size()-offset+1, 4096)) // small file: small buffer, grown when needed
	}
	buf := make([]byte, size)
	n := 0            // bytes in buf
	pos := offset     // file offset of buf[0]
	skipping := false // inside an oversized line
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, rerr := f.ReadAt(buf[n:], pos+int64(n))
		n += m
		data := buf[:n]
		if skipping {
			i := indexNL(data)
			if i < 0 {
				pos += int64(n)
				n = 0
				if rerr != nil {
					return eofNil(rerr)
				}
				continue
			}
			skipping = false
			data = data[i+1:]
			pos += int64(i + 1)
		}
		last := lastNL(data)
		if last >= 0 {
			if err := fn(data[:last+1], pos); err != nil {
				return err
			}
			data = data[last+1:]
			pos += int64(last + 1)
		}
		if len(data) == len(buf) && len(buf) < full && len(data) <= maxRecord+1 {
			// One line fills the small buffer: grow it.
			nb := make([]byte, min(2*len(buf), full))
			n = copy(nb, data)
			buf = nb
			if rerr != nil {
				return eofNil(rerr)
			}
			continue
		}
		if len(data) == len(buf) || (last < 0 && len(data) > maxRecord+1) {
			// One line fills the buffer: over the limit, drop it.
			skipping = true
			pos += int64(len(data))
			data = data[:0]
		}
		n = copy(buf, data)
		if rerr != nil {
			return eofNil(rerr)
		}
	}
}

func eofNil(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("dataset: %w", err)
}

func indexNL(b []byte) int { return bytes.IndexByte(b, '\n') }
func lastNL(b []byte) int  { return bytes.LastIndexByte(b, '\n') }

// lineAt returns the bounds of the line of buf (complete lines) holding
// byte i: buf[start:end] ends with its '\n'.
func lineAt(buf []byte, i int) (start, end int) {
	start = bytes.LastIndexByte(buf[:i], '\n') + 1
	end = i + bytes.IndexByte(buf[i:], '\n') + 1
	return start, end
}

// trimLine strips the newline and a carriage return, as jsonl.Reader does,
// and reports whether the line is within maxRecord (measured like jsonl:
// without the newline, with the carriage return).
func trimLine(line []byte, maxRecord int) ([]byte, bool) {
	line = line[:len(line)-1]
	ok := len(line) <= maxRecord
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, ok
}
