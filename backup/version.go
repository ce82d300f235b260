package backup

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// versionPattern is the only shape a version name may have. It is checked
// before any path is built from a name, so "../x", absolute paths, NUL bytes,
// over-long names and look-alike Unicode digits never reach the file system.
var versionPattern = regexp.MustCompile(`^model_backup_[0-9]{8}_[0-9]{6}_[0-9a-z]{1,16}$`)

const (
	versionPrefix = "model_backup_"
	stampLayout   = "20060102_150405"
	seqWidth      = 6
)

// Validate reports whether v is a well-formed version name,
// model_backup_YYYYMMDD_HHMMSS_<suffix> with a suffix of 1 to 16 characters
// from [0-9a-z]. The error wraps ErrInvalidName.
func (v Version) Validate() error {
	if !versionPattern.MatchString(string(v)) {
		return fmt.Errorf("%w: %q", ErrInvalidName, truncate(string(v), 80))
	}
	return nil
}

// versionName builds the name of the seq'th version created in t's second.
func versionName(t time.Time, seq int) Version {
	return Version(fmt.Sprintf("%s%s_%0*d", versionPrefix, t.UTC().Format(stampLayout), seqWidth, seq))
}

// versionSeq returns the sequence suffix of v if v was created in the
// second stamp (the part after versionPrefix), or -1.
func versionSeq(v, stamp string) int {
	rest, ok := strings.CutPrefix(v, versionPrefix+stamp+"_")
	if !ok {
		return -1
	}
	rest = strings.TrimSuffix(rest, ".tmp")
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// versionTime returns the UTC second recorded in v's name
// (model_backup_YYYYMMDD_HHMMSS_...), and false if v records none.
func versionTime(v Version) (time.Time, bool) {
	rest, ok := strings.CutPrefix(string(v), versionPrefix)
	if !ok || len(rest) < len(stampLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(stampLayout, rest[:len(stampLayout)])
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
