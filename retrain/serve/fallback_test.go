package serve_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"moodfood/backup"
	"moodfood/retrain/serve"
)

// rollbackSource is a memSource that names a rollback target, as
// backup.FileStore does.
type rollbackSource struct {
	*memSource
	target backup.Version
}

func (r rollbackSource) RollbackTarget(ctx context.Context) (backup.Version, error) {
	if r.target == "" {
		return "", backup.ErrNoPrevious
	}
	return r.target, nil
}

// A corrupt deployed version does not keep the Server from starting when an
// intact older version exists: it serves that one and says it is degraded
// until a loadable version is deployed.
func TestOpen_CorruptDeployedServesOlder(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		src := rollbackSource{memSource: newMemSource(), target: "B"}
		src.put("A", "FAKE A")
		src.put("B", "FAKE B")
		src.put("C", "garbage")
		src.deploy("C")
		s, err := serve.Open(t.Context(), src, &serve.Options{Decode: fakeDecode, PollInterval: -1})
		if err != nil {
			t.Fatalf("Open with a corrupt deployed version and an intact older one: %v", err)
		}
		defer s.Close()
		st := s.Stats()
		if st.Deployed != "B" || !strings.Contains(st.Degraded, "B") {
			t.Fatalf("serving %q, degraded %q; want B and a reason", st.Deployed, st.Degraded)
		}
		if a := classify(t, s, "hello", ""); a.ModelVersion != "B" {
			t.Fatalf("answered by %q", a.ModelVersion)
		}
		if len(src.deployed()) != 0 {
			t.Fatalf("the store's pointer was changed: %v", src.deployed())
		}
		// A new deploy that loads ends the degraded state.
		src.put("D", "FAKE D")
		src.deploy("D")
		if err := s.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Deployed != "D" || st.Degraded != "" {
			t.Fatalf("after a good deploy: serving %q, degraded %q", st.Deployed, st.Degraded)
		}
	})
	t.Run("NoIntactOlder", func(t *testing.T) {
		src := rollbackSource{memSource: newMemSource()}
		src.put("C", "garbage")
		src.deploy("C")
		if _, err := serve.Open(t.Context(), src, &serve.Options{Decode: fakeDecode, PollInterval: -1}); !errors.Is(err, serve.ErrRefused) {
			t.Fatalf("Open = %v, want ErrRefused", err)
		}
	})
}
