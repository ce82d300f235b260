package backup_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"moodfood/backup"
)

// BenchmarkDeployVerify times what a retraining run does with a new
// CLINC150-sized (25 MB) model after storing it: Deploy it (replacing the
// previous version), then Open it and read it to the end, as the load-back
// does.
func BenchmarkDeployVerify(b *testing.B) {
	ctx := context.Background()
	s, err := backup.OpenFileStore(filepath.Join(b.TempDir(), "models"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := make([]byte, 25<<20)
	rand.NewChaCha8([32]byte{1}).Read(body)
	var vs [2]backup.Version
	for i := range vs {
		m, err := s.Put(ctx, backup.Manifest{}, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		vs[i] = m.Version
	}
	if err := s.Deploy(ctx, vs[0]); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	i := 1
	for b.Loop() {
		v := vs[i%2]
		i++
		if err := s.Deploy(ctx, v); err != nil {
			b.Fatal(err)
		}
		_, rc, err := s.Open(ctx, v)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}
