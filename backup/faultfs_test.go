package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"moodfood/internal/atomicfile"
)

var errInjected = errors.New("injected fault")

// opRec is one call through the fileSystem seam.
type opRec struct {
	op, name, to string
	err          error
}

// faultFS wraps the real fileSystem: it logs every operation, can fail the
// Nth one (once, or that one and all later ones), and can call onEvent
// before each operation (the crash test kills the process there).
type faultFS struct {
	inner fileSystem

	mu         sync.Mutex
	armed      bool
	n          int
	failAt     int
	persistent bool
	log        []opRec
	onEvent    func(n int, what string)
	noExchange bool // behave like a kernel without RENAME_EXCHANGE
}

// event counts one event (a seam operation or a named crash point) and
// reports whether it must fail.
func (f *faultFS) event(what string) bool {
	f.mu.Lock()
	if !f.armed {
		f.mu.Unlock()
		return false
	}
	f.n++
	n := f.n
	fail := f.failAt > 0 && (n == f.failAt || f.persistent && n > f.failAt)
	cb := f.onEvent
	f.mu.Unlock()
	if cb != nil {
		cb(n, what)
	}
	return fail
}

func (f *faultFS) do(op, name, to string, fn func() error) error {
	var err error
	if f.event(op + " " + name) {
		err = fmt.Errorf("%s %s: %w", op, name, errInjected)
	} else {
		err = fn()
	}
	f.mu.Lock()
	if f.armed {
		f.log = append(f.log, opRec{op, name, to, err})
	}
	f.mu.Unlock()
	return err
}

func (f *faultFS) arm(failAt int, persistent bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.n, f.failAt, f.persistent, f.log = true, 0, failAt, persistent, nil
}

// mark records an operation boundary in the log.
func (f *faultFS) mark() {
	f.mu.Lock()
	f.log = append(f.log, opRec{op: "---"})
	f.mu.Unlock()
}

func (f *faultFS) disarm() (n int, log []opRec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = false
	return f.n, f.log
}

func (f *faultFS) Mkdir(name string) error {
	return f.do("mkdir", name, "", func() error { return f.inner.Mkdir(name) })
}

func (f *faultFS) Create(name string) (writeFile, error) {
	var w writeFile
	err := f.do("create", name, "", func() (err error) { w, err = f.inner.Create(name); return err })
	if err != nil {
		return nil, err
	}
	return &faultFile{f: f, w: w, name: name}, nil
}

func (f *faultFS) Rename(a, b string) error {
	return f.do("rename", a, b, func() error { return f.inner.Rename(a, b) })
}

func (f *faultFS) Exchange(a, b string) error {
	return f.do("exchange", a, b, func() error {
		if f.noExchange {
			return errExchangeUnsupported
		}
		return f.inner.Exchange(a, b)
	})
}

func (f *faultFS) Symlink(target, name string) error {
	return f.do("symlink", name, target, func() error { return f.inner.Symlink(target, name) })
}

func (f *faultFS) RemoveAll(name string) error {
	return f.do("removeall", name, "", func() error { return f.inner.RemoveAll(name) })
}

func (f *faultFS) SyncDir(name string) error {
	return f.do("syncdir", name, "", func() error { return f.inner.SyncDir(name) })
}

type faultFile struct {
	f    *faultFS
	w    writeFile
	name string
}

func (ff *faultFile) Write(p []byte) (n int, err error) {
	err = ff.f.do("write", ff.name, "", func() (err error) { n, err = ff.w.Write(p); return err })
	return n, err
}

func (ff *faultFile) Sync() error {
	return ff.f.do("sync", ff.name, "", ff.w.Sync)
}

func (ff *faultFile) Close() error {
	// Close is logged but never failed: a failed close after an injected
	// fault must still release the descriptor.
	err := ff.w.Close()
	ff.f.mu.Lock()
	if ff.f.armed {
		ff.f.log = append(ff.f.log, opRec{"close", ff.name, "", err})
	}
	ff.f.mu.Unlock()
	return err
}

// openFaulty opens a FileStore whose seam is a faultFS (disarmed).
func openFaulty(t testing.TB, dir string, opts *FileStoreOptions) (*FileStore, *faultFS) {
	t.Helper()
	ffs := &faultFS{}
	s, err := openFileStore(dir, opts, &testHooks{
		wrapFS: func(inner fileSystem) fileSystem { ffs.inner = inner; return ffs },
		crash:  func(point string) { ffs.event("point " + point) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, ffs
}

// checkNoRenameAfterFailedSync asserts the renameio/DESIGN §4 rule on an
// op log: once a sync fails, nothing is renamed into place (renames to a
// temp name, which only take things out of sight, are allowed). The rule
// holds per operation: log entries "---" separate operations.
func checkNoRenameAfterFailedSync(log []opRec) error {
	failed := ""
	for _, r := range log {
		if r.op == "---" {
			failed = ""
		}
		if (r.op == "sync" || r.op == "syncdir") && r.err != nil && failed == "" {
			failed = r.op + " " + r.name
		}
		if failed != "" && (r.op == "rename" || r.op == "exchange") && r.err == nil && !isTempName(r.to) {
			return fmt.Errorf("%s %s -> %s after failed %s", r.op, r.name, r.to, failed)
		}
	}
	return nil
}

func isTempName(name string) bool {
	return strings.HasSuffix(name, tmpSuffix)
}

// tempLeftovers lists temp entries in models/ and models/backups/.
func tempLeftovers(dir string) []string {
	var out []string
	for _, d := range []string{dir, filepath.Join(dir, backupsDir)} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if atomicfile.IsTemp(e.Name()) || strings.HasSuffix(e.Name(), tmpSuffix) {
				out = append(out, filepath.Join(filepath.Base(d), e.Name()))
			}
		}
	}
	return out
}
