package backup_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"moodfood/backup"
	"moodfood/retrain"
	"moodfood/retrain/retraintest"
)

var (
	_ retrain.ModelStore    = (*backup.FileStore)(nil)
	_ retrain.ModelStore    = (*backup.MemStore)(nil)
	_ backup.Pruner         = (*backup.FileStore)(nil)
	_ backup.Pruner         = (*backup.MemStore)(nil)
	_ backup.Verifier       = (*backup.FileStore)(nil)
	_ backup.Verifier       = (*backup.MemStore)(nil)
	_ backup.Opener         = (*backup.FileStore)(nil)
	_ retraintest.Corrupter = (*backup.MemStore)(nil)
)

// corruptibleFileStore adds the retraintest corruption seam to a FileStore
// by flipping a byte of model.bin on disk.
type corruptibleFileStore struct{ *backup.FileStore }

func (c corruptibleFileStore) Corrupt(_ context.Context, v backup.Version) error {
	return flipByte(filepath.Join(c.Dir(), "backups", string(v), "model.bin"))
}

func flipByte(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		b = []byte{0}
	} else {
		b[len(b)/2] ^= 0x01
	}
	return os.WriteFile(path, b, 0o600)
}

func mustOpen(t *testing.T, dir string, opts *backup.FileStoreOptions) *backup.FileStore {
	t.Helper()
	s, err := backup.OpenFileStore(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestFileStore_Conformance(t *testing.T) {
	retraintest.TestModelStore(t, func(t *testing.T) retrain.ModelStore {
		return corruptibleFileStore{mustOpen(t, filepath.Join(t.TempDir(), "models"), nil)}
	})
}

func TestMemStore_Conformance(t *testing.T) {
	retraintest.TestModelStore(t, func(t *testing.T) retrain.ModelStore {
		return backup.NewMemStore()
	})
}
