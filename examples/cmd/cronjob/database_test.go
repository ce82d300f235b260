package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/internal/pgtest"
	"moodfood/retrain"
	"moodfood/retrain/pgstore"
)

// TestDatabase drives the binary against PostgreSQL: migrate (twice),
// run --init loads the demo and deploys, status reads it back, a second run
// skips, a held lock is exit 4, and a password never shows.
func TestDatabase(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t)
	env := []string{"MOODFOOD_DATABASE_URL=" + url, "MOODFOOD_DATABASE_SCHEMA=" + schema}
	demo, err := filepath.Abs("../../demo")
	if err != nil {
		t.Fatal(err)
	}
	r := cronjob(t, env, "status")
	r.want(t, exitFailed, "status before migrate")
	if !strings.Contains(r.stderr, "migrate") {
		t.Errorf("status before migrate does not say to migrate: %s", r.stderr)
	}
	r = cronjob(t, env, "migrate")
	r.want(t, exitOK, "migrate")
	if !strings.Contains(r.stdout, "applied") {
		t.Errorf("migrate: %s", r.stdout)
	}
	r = cronjob(t, env, "migrate")
	r.want(t, exitOK, "second migrate")
	if !strings.Contains(r.stdout, "up to date") {
		t.Errorf("second migrate: %s", r.stdout)
	}
	// The URL by flag, the schema by environment.
	r = cronjob(t, env[1:], "run", "--force", "--database-url", url, "--init", demo)
	r.want(t, exitOK, "run --init")
	if !strings.Contains(r.stdout, "initialized") || !strings.Contains(r.stdout, "deployed") {
		t.Fatalf("run --init: %s", r.stdout)
	}
	r = cronjob(t, env, "status", "--json")
	r.want(t, exitOK, "status --json")
	var st retrain.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Deployed == nil || st.Deployed.Version == "" || !st.Deployed.Intact {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	r = cronjob(t, env, "run", "--init", demo)
	r.want(t, exitOK, "second run")
	if strings.Contains(r.stdout, "initialized") || !strings.Contains(r.stdout, "skipped") {
		t.Errorf("second run loaded again or did not skip: %s", r.stdout)
	}

	ctx := context.Background()
	db, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	unlock, _, err := db.Locker().Lock(ctx, retrain.Holder{RunID: "retrain_20260101_000000_abcdef", PID: 1, Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	cronjob(t, env, "run", "--force").want(t, exitBusy, "run while the lock is held")
	cronjob(t, env, "prune", "--keep-last", "1").want(t, exitBusy, "prune while the lock is held")
	unlock()
	cronjob(t, env, "run", "--force").want(t, exitOK, "run after unlock")
	// Two more versions: copies of the deployed model (a retrain on the
	// same data is skipped as identical).
	models := db.Models()
	cur, err := models.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		m, rc, err := models.Open(ctx, cur)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := models.Put(ctx, backup.Manifest{Metrics: m.Metrics}, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	list, _ := models.List(ctx)
	if err := models.Deploy(ctx, list[0].Version); err != nil {
		t.Fatal(err)
	}

	// The store commands on the database.
	r = cronjob(t, env, "backups")
	r.want(t, exitOK, "backups")
	if !strings.Contains(r.stdout, "3 version(s)") || !strings.Contains(r.stdout, "*") {
		t.Errorf("backups:\n%s", r.stdout)
	}
	r = cronjob(t, env, "verify")
	r.want(t, exitOK, "verify")
	if !strings.Contains(r.stdout, "3 version(s) verified") {
		t.Errorf("verify:\n%s", r.stdout)
	}
	before, _ := models.Current(ctx)
	r = cronjob(t, env, "rollback")
	r.want(t, exitOK, "rollback")
	after, _ := models.Current(ctx)
	if after == before || !strings.Contains(r.stdout, "deployed "+string(after)) {
		t.Errorf("rollback: %s -> %s:\n%s", before, after, r.stdout)
	}
	// Forward again to the newest, then prune: the deployed version and its
	// rollback target are kept, the oldest goes.
	cronjob(t, env, "rollback", "--to", string(before)).want(t, exitOK, "rollback --to")
	after = before
	r = cronjob(t, env, "prune", "--keep-last", "1", "--dry-run")
	r.want(t, exitOK, "prune --dry-run")
	r = cronjob(t, env, "prune", "--keep-last", "1")
	r.want(t, exitOK, "prune")
	list, _ = models.List(ctx)
	kept := map[string]bool{}
	for _, m := range list {
		kept[string(m.Version)] = true
	}
	if !kept[string(after)] || len(list) != 2 {
		t.Errorf("after prune --keep-last 1: %v (deployed %s)", kept, after)
	}
}

// TestDatabase_PasswordNeverShown: a database that cannot be reached fails
// the commands, and the password is in none of their output.
func TestDatabase_PasswordNeverShown(t *testing.T) {
	const pw = "S3cr3t-never-shown"
	for _, u := range []string{
		"postgres://moodfood:" + pw + "@127.0.0.1:1/moodfood?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=moodfood password=" + pw + " sslmode=disable connect_timeout=2",
		"postgres://moodfood:" + pw + "@[::1",
	} {
		for _, args := range [][]string{{"run", "--force"}, {"status"}, {"migrate"}, {"run", "--init", "../../demo"}} {
			r := cronjob(t, []string{"MOODFOOD_DATABASE_URL=" + u}, args...)
			if r.code == exitOK {
				t.Errorf("%v on an unreachable database succeeded", args)
			}
			if strings.Contains(r.stdout+r.stderr, pw) {
				t.Errorf("%v printed the password:\n%s%s", args, r.stdout, r.stderr)
			}
		}
	}
}
