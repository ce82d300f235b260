package retrain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"moodfood/backup"
)

// identicalToDeployed reports whether candidate c, about to be stored with
// manifest man, would be a byte-for-byte copy of the deployed version: the
// same dataset fingerprint and trainer configuration (cheap to compare), and
// an encoding with the size and SHA-256 of one of the deployed version's
// files (checked only then, by encoding c once into a hash). Training is
// deterministic, so a forced run on unchanged data would otherwise store a
// duplicate of the deployed version each time.
func identicalToDeployed(dep *deployedModel, man backup.Manifest, c Classifier) (bool, error) {
	if dep == nil || dep.manifest == nil || dep.err != nil || len(dep.manifest.Files) == 0 ||
		dep.manifest.DatasetFingerprint == "" || dep.manifest.DatasetFingerprint != man.DatasetFingerprint ||
		!bytes.Equal(dep.manifest.TrainerConfig, man.TrainerConfig) {
		return false, nil
	}
	h := sha256.New()
	var n int64
	if err := safeEncode(c, writerFunc(func(p []byte) (int, error) {
		h.Write(p)
		n += int64(len(p))
		return len(p), nil
	})); err != nil {
		return false, fmt.Errorf("encode: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	for _, f := range dep.manifest.Files {
		if f.Size == n && f.SHA256 == sum {
			return true, nil
		}
	}
	return false, nil
}
