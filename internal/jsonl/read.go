package jsonl

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxRecord is the record size limit (bytes, without the newline) used
// when a caller passes zero.
const DefaultMaxRecord = 1 << 20

// MaxBadLines caps Stats.BadLines; Stats.Bad keeps counting beyond it.
const MaxBadLines = 100

// ErrSkip is returned by a Read callback to mark the current line as damaged:
// it is counted in Stats and reading continues.
var ErrSkip = errors.New("jsonl: skip damaged line")

// ErrTooLarge is returned by Appender when a record exceeds the size limit.
var ErrTooLarge = errors.New("jsonl: record too large")

// ErrNewline is returned by Appender when a record contains a raw newline.
var ErrNewline = errors.New("jsonl: record contains a newline")

// Stats describes what a read saw.
type Stats struct {
	// Lines counts complete (newline-terminated) non-blank lines, good or bad.
	Lines int `json:"lines"`
	// Bad counts skipped lines: rejected by the caller, over the size limit,
	// or a torn final line.
	Bad int `json:"bad"`
	// BadLines lists the 1-based line numbers of the first MaxBadLines bad lines.
	BadLines []int `json:"bad_lines,omitempty"`
	// Torn is set when the input ended inside a line (no final newline);
	// TornBytes is that fragment's length. The fragment is not returned.
	Torn      bool `json:"torn,omitempty"`
	TornBytes int  `json:"torn_bytes,omitempty"`
	// Offset is the number of bytes consumed through the end of the last
	// complete line, relative to where reading started. Resuming from it
	// never splits a line.
	Offset int64 `json:"offset"`
}

// Reader returns the lines of a JSONL stream one at a time. It is not safe
// for concurrent use.
type Reader struct {
	br      *bufio.Reader
	max     int
	acc     []byte
	lineNo  int
	next    int64 // offset after the line being read
	stats   Stats
	lastOff int64
	// AllowUnterminated makes Next return a final line that lacks its
	// newline instead of counting it as torn. Use it for hand-edited files
	// (the base dataset), never for files that are being appended to.
	AllowUnterminated bool
}

// NewReader returns a Reader over r whose records may be up to maxLine bytes
// (DefaultMaxRecord when maxLine <= 0).
func NewReader(r io.Reader, maxLine int) *Reader {
	return NewReaderSize(r, maxLine, 64<<10)
}

// NewReaderSize is NewReader with a read buffer of size bytes (at least
// 4 KiB); big buffers (1 MiB) cut the number of read(2) calls on big files.
func NewReaderSize(r io.Reader, maxLine, size int) *Reader {
	if maxLine <= 0 {
		maxLine = DefaultMaxRecord
	}
	size = max(size, 4<<10)
	return &Reader{br: bufio.NewReaderSize(r, size), max: maxLine}
}

// SetLineNo sets the number of lines already consumed before the reader's
// start, so that reported line numbers are absolute.
func (r *Reader) SetLineNo(n int) { r.lineNo = n }

// Next returns the next complete, non-blank line without its newline (and
// without a trailing carriage return). The slice is valid until the next
// call. At the end of input it returns io.EOF; other errors come from the
// underlying reader.
func (r *Reader) Next() ([]byte, error) {
	r.acc = r.acc[:0]
	over := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.next += int64(len(chunk))
		switch {
		case err == nil:
			r.lineNo++
			var line []byte
			if len(r.acc) > 0 || over {
				if !over && len(r.acc)+len(chunk)-1 <= r.max {
					r.acc = append(r.acc, chunk...)
				} else {
					over = true
				}
				line = r.acc
			} else {
				line = chunk
				if len(line)-1 > r.max {
					over = true
				}
			}
			r.stats.Offset = r.next
			if over {
				r.stats.Lines++
				r.bad()
				r.acc = r.acc[:0]
				over = false
				continue
			}
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			r.stats.Lines++
			r.lastOff = r.next
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if !over && len(r.acc)+len(chunk) <= r.max {
				r.acc = append(r.acc, chunk...)
			} else {
				over = true
				r.acc = r.acc[:0]
			}
		case errors.Is(err, io.EOF):
			frag := len(r.acc) + len(chunk)
			if frag == 0 && !over {
				return nil, io.EOF
			}
			if r.AllowUnterminated && !over && len(r.acc)+len(chunk) <= r.max {
				r.acc = append(r.acc, chunk...)
				r.lineNo++
				r.stats.Offset = r.next
				if len(bytes.TrimSpace(r.acc)) == 0 {
					return nil, io.EOF
				}
				r.stats.Lines++
				r.lastOff = r.next
				return r.acc, nil
			}
			if over {
				frag = int(r.next - r.stats.Offset)
			}
			if len(bytes.TrimSpace(r.acc)) == 0 && len(bytes.TrimSpace(chunk)) == 0 && !over {
				return nil, io.EOF
			}
			r.lineNo++
			r.stats.Torn = true
			r.stats.TornBytes = frag
			r.bad()
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

func (r *Reader) bad() {
	r.stats.Bad++
	if len(r.stats.BadLines) < MaxBadLines {
		r.stats.BadLines = append(r.stats.BadLines, r.lineNo)
	}
}

// Skip counts the line last returned by Next as damaged.
func (r *Reader) Skip() { r.bad() }

// LineNo is the 1-based number of the line last returned by Next.
func (r *Reader) LineNo() int { return r.lineNo }

// End is the offset just past the line last returned by Next, relative to
// where reading started.
func (r *Reader) End() int64 { return r.lastOff }

// Stats reports what the reader has seen so far.
func (r *Reader) Stats() Stats { return r.stats }

// Read calls fn for every complete, non-blank line of r (records up to
// maxLine bytes, DefaultMaxRecord when maxLine <= 0). If fn returns an error
// matching ErrSkip, the line is counted as damaged and reading continues; any
// other error stops Read and is returned as is. Damaged, oversized and torn
// lines never stop the read.
func Read(r io.Reader, maxLine int, fn func(line []byte, lineNo int) error) (Stats, error) {
	rd := NewReader(r, maxLine)
	for {
		line, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return rd.Stats(), nil
		}
		if err != nil {
			return rd.Stats(), err
		}
		if err := fn(line, rd.LineNo()); err != nil {
			if errors.Is(err, ErrSkip) {
				rd.Skip()
				continue
			}
			return rd.Stats(), err
		}
	}
}
