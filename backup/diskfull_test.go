//go:build linux

package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const (
	envFsizeDir   = "MOODFOOD_FSIZE_DIR"
	envFsizeLimit = "MOODFOOD_FSIZE_LIMIT"
	envFsizeBody  = "MOODFOOD_FSIZE_BODY"
)

// diskFullCheck verifies the state after a failed put/deploy: A still
// deployed and intact, no temp files left (without a reopen), the new body
// not listed. It returns a description of what is wrong, or "".
func diskFullCheck(s *FileStore, dir string, newBody []byte) string {
	var problems []string
	if _, err := deployedState(s, bodyA); err != nil {
		problems = append(problems, err.Error())
	}
	if left := tempLeftovers(dir); len(left) > 0 {
		problems = append(problems, fmt.Sprintf("temps left: %v", left))
	}
	if newBody != nil {
		if _, err := versionWithBody(s, string(newBody)); err == nil {
			problems = append(problems, "the failed version is listed")
		}
	}
	return strings.Join(problems, "; ")
}

func setupDeployedA(t *testing.T, dir string) {
	t.Helper()
	s, err := OpenFileStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := putBody(t, s, bodyA)
	if err := s.Deploy(context.Background(), a.Version); err != nil {
		t.Fatal(err)
	}
}

// TestDiskFullChild is the child side of TestFileStore_DiskFull/RLIMIT_FSIZE.
func TestDiskFullChild(t *testing.T) {
	dir := os.Getenv(envFsizeDir)
	if dir == "" {
		t.Skip("child of TestFileStore_DiskFull only")
	}
	limit, _ := strconv.ParseUint(os.Getenv(envFsizeLimit), 10, 64)
	size, _ := strconv.Atoi(os.Getenv(envFsizeBody))
	signal.Ignore(syscall.SIGXFSZ)
	s, err := OpenFileStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("m"), size)
	ctx := context.Background()
	m, err := s.Put(ctx, Manifest{}, bytes.NewReader(body))
	if err == nil {
		err = s.Deploy(ctx, m.Version)
	}
	if err != nil {
		fmt.Printf("RESULT error %v\n", err)
		if p := diskFullCheck(s, dir, body); p != "" {
			fmt.Printf("PROBLEM %s\n", p)
		}
		return
	}
	fmt.Println("RESULT ok")
}

func TestFileStore_DiskFull(t *testing.T) {
	runs, bad, errorsReturned := 0, 0, 0
	report := func(ok bool, returned bool) {
		runs++
		if !ok {
			bad++
		}
		if returned {
			errorsReturned++
		}
	}
	t.Run("RLIMIT_FSIZE", func(t *testing.T) {
		levels := []struct {
			limit, body int
			wantErr     bool
		}{
			{0, 65536, true}, {1, 65536, true}, {4096, 65536, true}, {65535, 65536, true},
			{150, 100, true}, // the body fits, the manifest does not
			{1 << 20, 65536, false},
		}
		for _, lv := range levels {
			dir := filepath.Join(t.TempDir(), "models")
			setupDeployedA(t, dir)
			cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullChild$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), envFsizeDir+"="+dir, envFsizeLimit+"="+strconv.Itoa(lv.limit), envFsizeBody+"="+strconv.Itoa(lv.body))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			gotErr := bytes.Contains(out, []byte("RESULT error"))
			ok := gotErr == lv.wantErr && !bytes.Contains(out, []byte("PROBLEM"))
			if !ok {
				t.Errorf("limit %d body %d: want error %v; child said:\n%s", lv.limit, lv.body, lv.wantErr, out)
			}
			if gotErr {
				for _, l := range strings.Split(string(out), "\n") {
					if strings.HasPrefix(l, "RESULT") {
						t.Logf("limit %d: %s", lv.limit, l)
					}
				}
			}
			// And after a reopen: A intact, no temps, a clean put+deploy works.
			s, err := OpenFileStore(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if lv.wantErr {
				if p := diskFullCheck(s, dir, nil); p != "" {
					ok = false
					t.Errorf("limit %d after reopen: %s", lv.limit, p)
				}
			}
			b := putBody(t, s, bodyB)
			if err := s.Deploy(context.Background(), b.Version); err != nil {
				ok = false
				t.Errorf("clean deploy after limit %d: %v", lv.limit, err)
			}
			s.Close()
			report(ok, gotErr)
		}
	})
	t.Run("tmpfs", func(t *testing.T) {
		mnt := t.TempDir()
		if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=512k,nr_inodes=4096,mode=0700"); err != nil {
			t.Skipf("cannot mount a tmpfs (needs root): %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
		ctx := context.Background()
		newBody := bytes.Repeat([]byte("n"), 100<<10)
		// Free space left after filling, in KiB.
		for _, free := range []int{0, 4, 8, 16, 64, 100, 104, 112, 256} {
			dir := filepath.Join(mnt, "models")
			os.RemoveAll(dir)
			os.Remove(filepath.Join(mnt, "filler"))
			setupDeployedA(t, dir)
			if err := fill(filepath.Join(mnt, "filler"), mnt, int64(free)<<10); err != nil {
				t.Fatal(err)
			}
			s, err := OpenFileStore(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := s.Put(ctx, Manifest{}, bytes.NewReader(newBody))
			if err == nil {
				err = s.Deploy(ctx, m.Version)
			}
			ok := true
			if err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Errorf("free %dK: error %v does not wrap ENOSPC", free, err)
					ok = false
				}
				if p := diskFullCheck(s, dir, newBody); p != "" {
					t.Errorf("free %dK: %s", free, p)
					ok = false
				}
			} else if _, derr := deployedState(s, string(newBody)); derr != nil {
				t.Errorf("free %dK: deploy returned nil: %v", free, derr)
				ok = false
			}
			t.Logf("free %3dK: %v", free, err)
			os.Remove(filepath.Join(mnt, "filler"))
			b := putBody(t, s, bodyB)
			if err := s.Deploy(ctx, b.Version); err != nil {
				t.Errorf("clean deploy after free %dK: %v", free, err)
				ok = false
			}
			s.Close()
			report(ok, err != nil)
		}
		// Inodes exhausted: mkdir of the new version and the deploy's temp
		// symlink both fail.
		dir := filepath.Join(mnt, "models")
		os.RemoveAll(dir)
		setupDeployedA(t, dir)
		s, err := OpenFileStore(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		b := putBody(t, s, bodyB)
		fillDir := filepath.Join(mnt, "inodes")
		os.Mkdir(fillDir, 0o700)
		for i := 0; ; i++ {
			f, err := os.Create(filepath.Join(fillDir, strconv.Itoa(i)))
			if err != nil {
				break
			}
			f.Close()
		}
		err = s.Deploy(ctx, b.Version)
		_, perr := s.Put(ctx, Manifest{}, bytes.NewReader(newBody))
		ok := err != nil && perr != nil
		if !ok {
			t.Errorf("with no inodes: Deploy %v, Put %v; want errors", err, perr)
		}
		if p := diskFullCheck(s, dir, newBody); p != "" {
			t.Errorf("no inodes: %s", p)
			ok = false
		}
		t.Logf("no inodes: Deploy: %v; Put: %v", err, perr)
		os.RemoveAll(fillDir)
		if err := s.Deploy(ctx, b.Version); err != nil {
			t.Errorf("deploy after freeing inodes: %v", err)
			ok = false
		}
		report(ok, err != nil)
	})
	t.Logf(`REL {"test": "disk_full", "runs": %d, "bad": %d, "errors_returned": %d}`, runs, bad, errorsReturned)
}

// fill writes a file at path until the file system at mnt has about free
// bytes left.
func fill(path, mnt string, free int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		return err
	}
	avail := int64(st.Bavail) * int64(st.Bsize)
	n := avail - free
	if n <= 0 {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(make([]byte, n))
	if err != nil && !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	return nil
}
