package backup

import (
	"errors"
	"testing"

	"moodfood/internal/flock"
)

// On a platform without flock(2) the file store refuses to open with an
// error matching errors.ErrUnsupported instead of running unlocked.
func TestOpenFileStore_Unsupported(t *testing.T) {
	if flock.Supported {
		t.Skip("flock(2) exists here; this checks platforms without it (Windows)")
	}
	if _, err := OpenFileStore(t.TempDir(), nil); !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("OpenFileStore = %v, want ErrUnsupported", err)
	}
}
