// Package pgtest gives the PostgreSQL tests a database: the one named by
// MOODFOOD_TEST_DATABASE_URL, or a throwaway cluster it starts itself with
// Debian's initdb and pg_ctl (in a temp dir, on a Unix socket, run as the
// postgres user when the tests run as root). Without PostgreSQL the tests
// skip with a one-line reason. It runs the server binaries and nothing
// else: it does not import a driver.
package pgtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// EnvURL names the variable that points the tests at an existing database
// instead of a throwaway cluster.
const EnvURL = "MOODFOOD_TEST_DATABASE_URL"

// Cluster is a throwaway PostgreSQL cluster. Its methods are not safe for
// concurrent use.
type Cluster struct {
	// URL connects to the cluster's postgres database as the superuser
	// over the Unix socket.
	URL  string
	Dir  string
	Port int
	bin  string
	uid  int // run the binaries as this user (-1: as ourselves)
	gid  int
}

// Bin returns the directory of the newest installed PostgreSQL server
// binaries, or an error saying why there is none.
func Bin() (string, error) {
	ds, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(ds, func(i, j int) bool { return ver(ds[i]) < ver(ds[j]) })
	for i := len(ds) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(ds[i], "pg_ctl")); err == nil {
			return ds[i], nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgtest: no PostgreSQL server binaries (install Debian's postgresql, or set " + EnvURL + ")")
}

func ver(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Start initializes and starts a cluster in a new temp dir.
func Start() (*Cluster, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, uid: -1, gid: -1}
	dir, err := os.MkdirTemp("", "moodfood-pg-")
	if err != nil {
		return nil, err
	}
	c.Dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root and no postgres user: %w", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chown(dir, c.uid, c.gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := c.run("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	conf := "listen_addresses = ''\nfsync = off\nmax_connections = 200\nshared_buffers = 64MB\n"
	if err := appendFile(filepath.Join(c.data(), "postgresql.conf"), conf); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.URL = fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", c.Dir, c.Port)
	return c, nil
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (c *Cluster) data() string { return filepath.Join(c.Dir, "data") }

func (c *Cluster) start() error {
	return c.run("pg_ctl", "-D", c.data(), "-o", fmt.Sprintf("-k %s -p %d", c.Dir, c.Port), "-l", filepath.Join(c.Dir, "log"), "-w", "start")
}

func (c *Cluster) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.Dir
	if c.uid >= 0 {
		runAs(cmd, c.uid, c.gid)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Restart restarts the server the hard way (pg_ctl restart -m immediate:
// every connection is cut and the server recovers from its WAL), waiting
// until it accepts connections again.
func (c *Cluster) Restart() error {
	if err := c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop"); err != nil {
		return err
	}
	return c.start()
}

// Stop stops the server (immediately) and removes its directory.
func (c *Cluster) Stop() error {
	err := c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.Dir)
	return err
}

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
)

// Main runs the tests of a package with a shared database and returns the
// exit code: it stops the cluster it may have started after m.Run.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// URL returns the URL of the tests' database: MOODFOOD_TEST_DATABASE_URL,
// or a throwaway cluster started on first use (stopped by Main). It skips
// the test with a one-line reason when there is neither.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		t.Skip("no PostgreSQL: " + oneLine(sharedErr.Error()))
	}
	return shared.URL
}

// Schema returns a fresh schema name for one test; the stores create it
// when they migrate. Tests that share one database stay apart this way.
func Schema(t testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	return "moodfood_test_" + hex.EncodeToString(b[:])
}

// Own starts a cluster that only the calling test uses (for tests that
// restart the server), stopped at the end of the test. It skips the test
// with a one-line reason when PostgreSQL is not installed.
func Own(t testing.TB) *Cluster {
	t.Helper()
	c, err := Start()
	if err != nil {
		t.Skip("no PostgreSQL cluster of its own: " + oneLine(err.Error()))
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
