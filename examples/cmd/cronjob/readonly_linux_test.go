package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// status, backups and verify only read: they work on a root mounted
// read-only (they must not open the lock files for writing).
func TestReadOnlyRoot(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, baseDatasetRel), []byte(`{"text":"hi","labels":["x"]}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deployTiny(t, src)
	env, _ := fakeEnv(t)
	cronjob(t, env, "status", "--root", src).want(t, exitOK, "status on the writable root")
	mnt := t.TempDir()
	if err := syscall.Mount(src, mnt, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	if err := syscall.Mount("", mnt, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount read-only: %v", err)
	}
	if f, err := os.Create(filepath.Join(mnt, "probe")); err == nil {
		f.Close()
		t.Skip("the mount is not read-only")
	}
	for _, cmd := range []string{"status", "backups", "verify"} {
		cronjob(t, env, cmd, "--root", mnt).want(t, exitOK, cmd+" on a read-only root")
	}
}
