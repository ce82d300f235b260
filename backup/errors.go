package backup

import "errors"

// Errors returned by stores. Implementations wrap them so that callers can
// use errors.Is.
var (
	ErrNotFound    = errors.New("backup: version not found")
	ErrCorrupt     = errors.New("backup: checksum mismatch")
	ErrNoCurrent   = errors.New("backup: no model deployed")
	ErrNoPrevious  = errors.New("backup: no previous version")
	ErrInvalidName = errors.New("backup: invalid version name")
)
