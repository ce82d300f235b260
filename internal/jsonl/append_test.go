package jsonl_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"moodfood/internal/jsonl"
)

func TestAppender_Append(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "a.jsonl")
	a, err := jsonl.OpenAppender(path, &jsonl.AppenderOptions{MaxRecord: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	t.Run("OK", func(t *testing.T) {
		if err := a.Append([]byte(`{"a":1}`), []byte(`{"a":2}`)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		err := a.Append([]byte(`{"a":"` + strings.Repeat("x", 40) + `"}`))
		if !errors.Is(err, jsonl.ErrTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrNewline", func(t *testing.T) {
		if err := a.Append([]byte("{\n}")); !errors.Is(err, jsonl.ErrNewline) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Perm", func(t *testing.T) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", fi.Mode())
		}
	})
	data, _ := os.ReadFile(path)
	if string(data) != "{\"a\":1}\n{\"a\":2}\n" {
		t.Fatalf("file = %q", data)
	}
}

func TestAppender_Rotate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "q.jsonl")
	n := 0
	a, err := jsonl.OpenAppender(path, &jsonl.AppenderOptions{Header: func() ([]byte, error) {
		n++
		return []byte(fmt.Sprintf(`{"header":%d}`, n)), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _ := jsonl.OpenAppender(path, nil) // a second writer, as in another process
	defer b.Close()
	a.Append([]byte(`{"x":1}`))
	if ok, err := a.Rotate(func(int64) (string, bool) { return filepath.Join(dir, "q.1.jsonl"), true }); !ok || err != nil {
		t.Fatal(ok, err)
	}
	b.Append([]byte(`{"x":2}`)) // must follow the rename to the new file
	old, _ := os.ReadFile(filepath.Join(dir, "q.1.jsonl"))
	cur, _ := os.ReadFile(path)
	if string(old) != "{\"header\":1}\n{\"x\":1}\n" || string(cur) != "{\"header\":2}\n{\"x\":2}\n" {
		t.Fatalf("old %q cur %q", old, cur)
	}
}

const childEnv = "JSONL_TEST_CHILD"

// TestAppender_Processes has several processes append to one file at once;
// every line must come back whole, exactly once.
func TestAppender_Processes(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		return
	}
	const procs, per = 4, 2000
	path := filepath.Join(t.TempDir(), "p.jsonl")
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestAppenderChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+path+"|"+strconv.Itoa(p)+"|"+strconv.Itoa(per))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("child %d: %v\n%s", p, err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	st, _ := jsonl.Read(bytes.NewReader(data), 0, func(line []byte, _ int) error {
		var r struct {
			P, I int
			Pad  string
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return jsonl.ErrSkip
		}
		seen[fmt.Sprint(r.P, "/", r.I)]++
		return nil
	})
	bad := st.Bad
	for p := range procs {
		for i := range per {
			if seen[fmt.Sprint(p, "/", i)] != 1 {
				bad++
			}
		}
	}
	if bad != 0 || len(seen) != procs*per {
		t.Errorf("bad %d, distinct %d of %d", bad, len(seen), procs*per)
	}
	t.Logf("REL {\"test\": %q, \"runs\": %d, \"bad\": %d, \"processes\": %d}", t.Name(), procs*per, bad, procs)
}

// TestAppenderChild is the body of one child process of TestAppender_Processes.
func TestAppenderChild(t *testing.T) {
	env := os.Getenv(childEnv)
	if env == "" {
		t.Skip("child process only")
	}
	parts := strings.Split(env, "|")
	p, _ := strconv.Atoi(parts[1])
	per, _ := strconv.Atoi(parts[2])
	a, err := jsonl.OpenAppender(parts[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pad := strings.Repeat("p", 3000) // big enough that unlocked writes could interleave
	for i := 0; i < per; i += 10 {
		var recs [][]byte
		for j := i; j < i+10 && j < per; j++ {
			b, _ := json.Marshal(map[string]any{"p": p, "i": j, "pad": pad})
			recs = append(recs, b)
		}
		if err := a.Append(recs...); err != nil {
			t.Fatal(err)
		}
	}
}
