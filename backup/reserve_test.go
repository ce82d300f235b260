package backup

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFileStore_RenameOntoExistingFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models")
	var s *FileStore
	var final string
	s, err := openFileStore(dir, nil, &testHooks{crash: func(point string) {
		if point != "put:synced" {
			return
		}
		// Another process commits a version under the same name between our
		// reservation and our rename.
		ents, _ := os.ReadDir(filepath.Join(dir, backupsDir))
		for _, e := range ents {
			if n, ok := strings.CutSuffix(e.Name(), tmpSuffix); ok {
				final = filepath.Join(dir, backupsDir, n)
				os.Mkdir(final, 0o700)
				os.WriteFile(filepath.Join(final, bodyName), []byte("theirs"), 0o600)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(context.Background(), Manifest{}, strings.NewReader("ours")); err == nil {
		t.Fatal("Put renamed onto an existing non-empty version")
	}
	if b, err := os.ReadFile(filepath.Join(final, bodyName)); err != nil || string(b) != "theirs" {
		t.Errorf("existing version overwritten: %q, %v", b, err)
	}
	if left := tempLeftovers(dir); len(left) > 0 {
		t.Errorf("temps left: %v", left)
	}
}

func TestFileStore_RacingStoresFrozenClock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	opts := &FileStoreOptions{Now: func() time.Time { return t0 }}
	var stores []*FileStore
	for range 4 { // four "processes" on one directory
		s, err := OpenFileStore(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[Version]string{}
	for i := range 40 {
		wg.Go(func() {
			body := "model " + strings.Repeat("x", i)
			m, err := stores[i%len(stores)].Put(context.Background(), Manifest{}, strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if _, dup := seen[m.Version]; dup {
				t.Errorf("version %s handed out twice", m.Version)
			}
			seen[m.Version] = body
		})
	}
	wg.Wait()
	for v, body := range seen {
		b, err := os.ReadFile(filepath.Join(dir, backupsDir, string(v), bodyName))
		if err != nil || string(b) != body {
			t.Errorf("%s = %q, %v; want %q", v, b, err, body)
		}
	}
}

// blockingReader hands out one chunk, then waits for release.
type blockingReader struct {
	started chan struct{}
	release chan struct{}
	n       int
}

func (b *blockingReader) Read(p []byte) (int, error) {
	b.n++
	switch b.n {
	case 1:
		close(b.started)
		return copy(p, "model partial "), nil
	case 2:
		<-b.release
		return copy(p, "rest"), nil
	}
	return 0, io.EOF
}

func TestFileStore_ReaperSparesLivePut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models")
	s, err := OpenFileStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	br := &blockingReader{started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error)
	go func() {
		_, err := s.Put(context.Background(), Manifest{}, br)
		done <- err
	}()
	<-br.started
	// Another process opens the store while the Put is writing: its reaper
	// must leave the live temp directory alone.
	s2, err := OpenFileStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if left := tempLeftovers(dir); len(left) != 1 {
		t.Errorf("live temp dir reaped: %v", left)
	}
	// A Prune waits for the Put instead of reaping under it.
	pruned := make(chan error)
	go func() {
		_, err := s2.Prune(context.Background(), Policy{KeepLast: 5})
		pruned <- err
	}()
	time.Sleep(20 * time.Millisecond)
	close(br.release)
	if err := <-done; err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := <-pruned; err != nil {
		t.Fatal(err)
	}
	ms, _ := s2.List(context.Background())
	if len(ms) != 1 {
		t.Errorf("List = %d versions, want 1", len(ms))
	}
	s2.Close()
	// A canceled wait for the lock returns ctx.Err().
	ctx, cancel := context.WithCancel(context.Background())
	unlock, _ := s.lockStore(context.Background(), true)
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if err := s.Deploy(ctx, ms[0].Version); !errors.Is(err, context.Canceled) {
		t.Errorf("Deploy waiting for the lock = %v, want context.Canceled", err)
	}
	unlock()
}
