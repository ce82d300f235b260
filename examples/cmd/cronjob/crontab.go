package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// A crontab entry of this command is one line: the schedule, the absolute
// path of the binary with "run --root ROOT", output appended to
// ROOT/data/logs/cron_retrain.log, and a trailing shell comment that marks
// the line as ours:
//
//	0 3 1 * * '/usr/local/bin/cronjob' run --root '/srv/moodfood' >> '/srv/moodfood/data/logs/cron_retrain.log' 2>&1 # moodfood-retrain root=/srv/moodfood
//
// The marker names the absolute root, so entries for several roots coexist.
// Every path is absolute and single-quoted, so the line does not depend on
// cron's working directory or PATH; "%" (a newline to cron) is escaped as
// "\%". With --day last the command is prefixed by lastDayGuard and the
// day-of-month field is 28-31.
//
// Editing is done by pure functions over the crontab's bytes: upsertEntry
// and removeEntry touch only lines carrying this root's marker and keep
// every other byte as it was (comments, blank lines, MAILTO= and other
// environment lines, a missing final newline).

// markerPrefix starts the comment that marks a line as ours.
const markerPrefix = "# moodfood-retrain root="

// lastDayGuard, put in front of the command on days 28-31, lets the job run
// only on the last day of the month (GNU date, as on Debian).
const lastDayGuard = `[ "$(date -d tomorrow +\%d)" = 01 ] && `

// cronLogName is the file, under ROOT/data/logs, that cron's output goes to.
const cronLogName = "cron_retrain.log"

// marker returns the comment that marks root's entry.
func marker(root string) string { return markerPrefix + cronEscape(root) }

// cronEscape escapes "%" for a crontab command field.
func cronEscape(s string) string { return strings.ReplaceAll(s, "%", `\%`) }

// shellQuote quotes s for sh in single quotes.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// cronEntry is what goes into one crontab line.
type cronEntry struct {
	Schedule string // five fields or a macro, already validated
	LastDay  bool   // prefix the command with lastDayGuard
	Binary   string // absolute path of the cronjob binary
	Root     string // absolute root
	Args     []string
}

// line renders the entry without a trailing newline. Binary, Root and Args
// must not contain newlines (checkPath refuses them).
func (e cronEntry) line() string {
	var b strings.Builder
	b.WriteString(e.Schedule)
	b.WriteByte(' ')
	if e.LastDay {
		b.WriteString(lastDayGuard)
	}
	b.WriteString(cronEscape(shellQuote(e.Binary)))
	b.WriteString(" run --root ")
	b.WriteString(cronEscape(shellQuote(e.Root)))
	for _, a := range e.Args {
		b.WriteByte(' ')
		b.WriteString(cronEscape(shellQuote(a)))
	}
	b.WriteString(" >> ")
	b.WriteString(cronEscape(shellQuote(filepath.Join(e.Root, "data", "logs", cronLogName))))
	b.WriteString(" 2>&1 ")
	b.WriteString(marker(e.Root))
	return b.String()
}

// checkPath refuses paths that cannot be written into a crontab line.
func checkPath(what, p string) error {
	if strings.ContainsAny(p, "\n\r\x00") {
		return fmt.Errorf("%s %q contains a newline or NUL; cron cannot run it", what, p)
	}
	return nil
}

// splitLines splits b after each '\n'; the last element lacks the newline
// when b does not end with one. Joining the parts gives b back.
func splitLines(b []byte) [][]byte {
	var lines [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			lines = append(lines, b)
			break
		}
		lines = append(lines, b[:i+1])
		b = b[i+1:]
	}
	return lines
}

// isOwn reports whether line (with or without its newline) carries mark:
// it is the mark alone, or ends with a blank followed by the mark (trailing
// blanks and a CR are ignored). A line for another root never matches,
// because the mark ends the line.
func isOwn(line []byte, mark string) bool {
	l := bytes.TrimRight(line, "\r\n")
	return endsWithMark(l, mark) || endsWithMark(bytes.TrimRight(l, " \t"), mark)
}

// endsWithMark reports whether l is mark or ends with a blank and mark.
func endsWithMark(l []byte, mark string) bool {
	if !bytes.HasSuffix(l, []byte(mark)) {
		return false
	}
	rest := l[:len(l)-len(mark)]
	return len(rest) == 0 || rest[len(rest)-1] == ' ' || rest[len(rest)-1] == '\t'
}

// removeEntry returns tab without root's lines, and how many it removed.
// Every other line is kept byte for byte, in order.
func removeEntry(tab []byte, root string) (out []byte, removed int) {
	mark := marker(root)
	out = make([]byte, 0, len(tab))
	for _, l := range splitLines(tab) {
		if isOwn(l, mark) {
			removed++
			continue
		}
		out = append(out, l...)
	}
	return out, removed
}

// upsertEntry returns tab with root's entry set to line (no newline). The
// first existing line of this root is replaced in place and any further ones
// are dropped, so running setup twice leaves one entry; without one, line is
// appended, after a newline if tab's last line lacked one (cron needs every
// entry on its own newline-terminated line). Other lines are kept byte for
// byte.
func upsertEntry(tab []byte, root, line string) []byte {
	mark := marker(root)
	out := make([]byte, 0, len(tab)+len(line)+2)
	done := false
	for _, l := range splitLines(tab) {
		if !isOwn(l, mark) {
			out = append(out, l...)
			continue
		}
		if !done {
			out = append(out, line...)
			out = append(out, '\n')
			done = true
		}
	}
	if !done {
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	return out
}

// findEntry returns root's first entry line (without the newline).
func findEntry(tab []byte, root string) (string, bool) {
	mark := marker(root)
	for _, l := range splitLines(tab) {
		if isOwn(l, mark) {
			return strings.TrimRight(string(l), "\r\n"), true
		}
	}
	return "", false
}

// findAllEntries returns the roots of every moodfood entry in tab, for
// cron-status to mention entries of other roots.
func findAllEntries(tab []byte) []string {
	var roots []string
	for _, l := range splitLines(tab) {
		s := strings.TrimRight(string(l), " \t\r\n")
		i := strings.LastIndex(s, markerPrefix)
		if i < 0 || (i > 0 && s[i-1] != ' ' && s[i-1] != '\t') {
			continue
		}
		roots = append(roots, strings.ReplaceAll(s[i+len(markerPrefix):], `\%`, "%"))
	}
	return roots
}

// entrySchedule parses the schedule of an entry line written by line (or
// edited by hand, as long as the fields stay first).
func entrySchedule(line string) (*schedule, error) {
	fields := strings.Fields(line)
	var expr, rest string
	switch {
	case len(fields) >= 1 && strings.HasPrefix(fields[0], "@"):
		expr = fields[0]
		rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), fields[0]))
	case len(fields) >= 6:
		expr = strings.Join(fields[:5], " ")
		rest = line
		for range 5 {
			rest = strings.TrimLeft(rest, " \t")
			rest = rest[strings.IndexAny(rest, " \t")+1:]
		}
		rest = strings.TrimLeft(rest, " \t")
	default:
		return nil, fmt.Errorf("%w: crontab line %q has no command", errSchedule, line)
	}
	s, err := parseSchedule(expr)
	if err != nil {
		return nil, err
	}
	s.lastDay = strings.HasPrefix(rest, lastDayGuard)
	return s, nil
}

// crontabProg talks to the crontab program: "crontab -l" to read and
// "crontab -" to install. The program is "crontab" on PATH unless the
// environment variable MOODFOOD_CRONTAB names another (tests use a fake).
type crontabProg struct {
	path string
}

// crontabTimeout bounds each call of the crontab program.
const crontabTimeout = 30 * time.Second

// newCrontab returns the crontab program to use.
func newCrontab() crontabProg {
	if p := os.Getenv("MOODFOOD_CRONTAB"); p != "" {
		return crontabProg{path: p}
	}
	return crontabProg{path: "crontab"}
}

// errNoCrontabProg is returned when the crontab program is not installed.
var errNoCrontabProg = errors.New("crontab program not found (install cron, or set MOODFOOD_CRONTAB)")

// read returns the current user's crontab; "no crontab for USER" is an
// empty crontab, not an error.
func (c crontabProg) read(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, crontabTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, "-l")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, errNoCrontabProg
		}
		if _, ok := errors.AsType[*exec.ExitError](err); ok && strings.Contains(stderr.String(), "no crontab for") {
			return nil, nil
		}
		return nil, fmt.Errorf("%s -l: %w: %s", c.path, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// write installs tab as the current user's crontab.
func (c crontabProg) write(ctx context.Context, tab []byte) error {
	ctx, cancel := context.WithTimeout(ctx, crontabTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, "-")
	cmd.Stdin = bytes.NewReader(tab)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return errNoCrontabProg
		}
		return fmt.Errorf("%s -: %w: %s", c.path, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// installedSchedule returns the schedule of root's installed entry, or nil
// when there is none or the crontab cannot be read (the heartbeat and monitor
// treat that as "not scheduled").
func installedSchedule(ctx context.Context, root string) (*schedule, string) {
	tab, err := newCrontab().read(ctx)
	if err != nil {
		return nil, ""
	}
	line, ok := findEntry(tab, root)
	if !ok {
		return nil, ""
	}
	s, err := entrySchedule(line)
	if err != nil {
		return nil, line
	}
	return s, line
}
