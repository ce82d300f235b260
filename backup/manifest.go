package backup

import (
	"encoding/json"
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
