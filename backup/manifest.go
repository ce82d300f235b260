package backup

import (
	"encoding/json"
	"slices"
	"time"
)

// Version names one stored model version. In the file store it is the
// backup directory's name, model_backup_YYYYMMDD_HHMMSS_<suffix>.
type Version string

// FileSum is the size and SHA-256 of one file of a version.
type FileSum struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest describes one stored model version. Put fills Version, Created and
// Files; the caller supplies the rest.
type Manifest struct {
	Version            Version            `json:"version"`
	Created            time.Time          `json:"created"`
	Files              []FileSum          `json:"files"`
	Metrics            map[string]float64 `json:"metrics,omitempty"`
	DatasetFingerprint string             `json:"dataset_fingerprint,omitempty"`
	// Replaces is the version that was deployed when this one was put.
	Replaces      Version         `json:"replaces,omitempty"`
	TrainerConfig json.RawMessage `json:"trainer_config,omitempty"`
	// RunID is the retraining run that produced the version, if any.
	RunID string `json:"run_id,omitempty"`
}

// timeLayout is how manifest.json records Created: UTC RFC 3339 with
// microseconds (docs/ARCHITECTURE.md §3), the query log's layout. Put truncates Created
// to the microsecond so that the manifest it returns is the one stored.
// Reading accepts any RFC 3339 time, so manifests written with another
// precision still load.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// manifestJSON is Manifest as manifest.json holds it: the same fields in
// the same order, Created as a string in timeLayout (a test checks that
// the two stay in step).
type manifestJSON struct {
	Version            Version            `json:"version"`
	Created            string             `json:"created"`
	Files              []FileSum          `json:"files"`
	Metrics            map[string]float64 `json:"metrics,omitempty"`
	DatasetFingerprint string             `json:"dataset_fingerprint,omitempty"`
	Replaces           Version            `json:"replaces,omitempty"`
	TrainerConfig      json.RawMessage    `json:"trainer_config,omitempty"`
	RunID              string             `json:"run_id,omitempty"`
}

// MarshalJSON writes Created in timeLayout, in UTC. (Unmarshaling needs no
// counterpart: time.Time reads any RFC 3339 time.)
func (m Manifest) MarshalJSON() ([]byte, error) {
	return json.Marshal(manifestJSON{
		Version:            m.Version,
		Created:            m.Created.UTC().Format(timeLayout),
		Files:              m.Files,
		Metrics:            m.Metrics,
		DatasetFingerprint: m.DatasetFingerprint,
		Replaces:           m.Replaces,
		TrainerConfig:      m.TrainerConfig,
		RunID:              m.RunID,
	})
}

// Size is the total size in bytes of the version's files as recorded in the
// manifest (manifest.json itself not included).
func (m Manifest) Size() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// newer reports whether a sorts before b in newest-first order: later
// Created first, and for equal times the greater version name first. Names
// embed the creation second and a sequence, so the tie-break follows
// creation order for versions from one store.
func newer(a, b Manifest) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.After(b.Created)
	}
	return a.Version > b.Version
}

// sortNewestFirst sorts ms newest first (see newer).
func sortNewestFirst(ms []Manifest) {
	slices.SortStableFunc(ms, func(a, b Manifest) int {
		switch {
		case newer(a, b):
			return -1
		case newer(b, a):
			return 1
		}
		return 0
	})
}
