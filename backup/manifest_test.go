package backup

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestManifestJSON_Fields keeps manifestJSON in step with Manifest: the same
// field names, JSON tags and order (a field added to Manifest and not to
// manifestJSON would silently vanish from manifest.json).
func TestManifestJSON_Fields(t *testing.T) {
	a, b := reflect.TypeFor[Manifest](), reflect.TypeFor[manifestJSON]()
	if a.NumField() != b.NumField() {
		t.Fatalf("Manifest has %d fields, manifestJSON %d", a.NumField(), b.NumField())
	}
	for i := range a.NumField() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Tag != fb.Tag {
			t.Errorf("field %d: Manifest has %s %q, manifestJSON %s %q", i, fa.Name, fa.Tag, fb.Name, fb.Tag)
		}
		if fa.Name != "Created" && fa.Type != fb.Type {
			t.Errorf("field %s: Manifest has type %s, manifestJSON %s", fa.Name, fa.Type, fb.Type)
		}
	}
}

func TestManifest_MarshalJSON(t *testing.T) {
	est := time.FixedZone("EST", -5*3600)
	for _, tt := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 27, 4, 5, 6, 0, time.UTC), "2026-11-27T04:05:06.000000Z"},
		{time.Date(2026, 11, 27, 4, 5, 6, 123456789, time.UTC), "2026-11-27T04:05:06.123456Z"},
		{time.Date(2026, 11, 26, 23, 5, 6, 120000000, est), "2026-11-27T04:05:06.120000Z"},
		{time.Time{}, "0001-01-01T00:00:00.000000Z"},
	} {
		m := Manifest{Version: "model_backup_20261127_040506_000001", Created: tt.in, RunID: "r"}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"version":"model_backup_20261127_040506_000001","created":"` + tt.want + `","files":null,"run_id":"r"}`
		if string(b) != want {
			t.Errorf("Marshal(Created %v) =\n%s\nwant\n%s", tt.in, b, want)
		}
		var back Manifest
		if err := json.Unmarshal(b, &back); err != nil || !back.Created.Equal(tt.in.Truncate(time.Microsecond)) {
			t.Errorf("round trip of %v: %v, %v", tt.in, back.Created, err)
		}
	}
}

// TestManifest_ReadsOldTimestamps: manifests written before the fixed
// layout (Go's default: nanoseconds, trailing zeros dropped, or none) and
// with an offset still load.
func TestManifest_ReadsOldTimestamps(t *testing.T) {
	for _, s := range []string{
		"2026-11-27T04:05:06Z",
		"2026-11-27T04:05:06.1Z",
		"2026-11-27T04:05:06.123456789Z",
		"2026-11-26T23:05:06.123456789-05:00",
	} {
		var m Manifest
		if err := json.Unmarshal([]byte(`{"version":"v","created":"`+s+`"}`), &m); err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		want, _ := time.Parse(time.RFC3339Nano, s)
		if !m.Created.Equal(want) {
			t.Errorf("%s: Created = %v", s, m.Created)
		}
	}
}

// TestFileStore_ManifestCreated: Put stores Created with microseconds in
// UTC, and the manifest it returns equals the one Open reads back.
func TestFileStore_ManifestCreated(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 4, 5, 6, 987654321, time.FixedZone("X", 3600))
	s, err := OpenFileStore(filepath.Join(t.TempDir(), "models"), &FileStoreOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.Put(ctx, Manifest{}, strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(s.Dir(), backupsDir, string(m.Version), manifestName))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`"created": "2026-11-27T03:05:06\.987654Z"`).Match(raw) {
		t.Errorf("manifest.json:\n%s", raw)
	}
	got, rc, err := s.Open(ctx, m.Version)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if !got.Created.Equal(m.Created) || got.Created.Nanosecond() != 987654000 {
		t.Errorf("Created: Put returned %v, Open read %v", m.Created, got.Created)
	}
}
