package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// VersionCheck is the verdict of VerifyAll on one stored version.
type VersionCheck struct {
	Version Version
	// Err is nil for a version that passes Verify; otherwise it says what
	// is wrong (matching ErrCorrupt unless the check itself failed: an I/O
	// error or ctx's).
	Err error
}

// VerifyAll verifies every version directory in the store, newest name
// first, including the ones List leaves out because their manifest is
// missing, oversized or unparseable or a file it lists is missing or of the
// wrong size: a store that "verifies" must not do so by not looking at
// them. Temp directories and entries that are not version names are not
// versions and are skipped. A canceled ctx stops it with ctx's error.
func (s *FileStore) VerifyAll(ctx context.Context) ([]VersionCheck, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	names, err := s.readDirNames(backupsDir)
	if err != nil {
		return nil, fmt.Errorf("backup: verify: %w", err)
	}
	var out []VersionCheck
	for _, n := range names {
		if strings.HasSuffix(n, tmpSuffix) || Version(n).Validate() != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("backup: verify: %w", err)
		}
		v := Version(n)
		err := s.verify(ctx, v)
		if errors.Is(err, ErrNotFound) { // listed a moment ago: removed by a prune since
			continue
		}
		out = append(out, VersionCheck{Version: v, Err: err})
	}
	// Newest name first: names sort by creation time.
	slices.SortFunc(out, func(a, b VersionCheck) int { return strings.Compare(string(b.Version), string(a.Version)) })
	return out, nil
}

// MaxManifestBytes caps the manifest.json the store reads; a bigger one is
// corrupt (a real one is well under a kilobyte per file it lists).
const MaxManifestBytes = 1 << 20

// readSmall reads the file name under the root if it is at most limit
// bytes, checking the size before reading anything.
func (s *FileStore) readSmall(name string, limit int64) ([]byte, error) {
	f, err := s.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes (at most %d)", ErrCorrupt, name, fi.Size(), limit)
	}
	b := make([]byte, fi.Size()+1)
	n, err := io.ReadFull(f, b)
	if err == nil { // grew past its size since the Stat
		return nil, fmt.Errorf("%w: %s grew while read", ErrCorrupt, name)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:n], nil
}
