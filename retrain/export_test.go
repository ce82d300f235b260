package retrain

import "os"

// SetHistoryWrite replaces how h writes to its file, for tests that
// simulate a full disk.
func SetHistoryWrite(h *FileHistory, write func(f *os.File, b []byte) (int, error)) {
	h.mu.Lock()
	h.write = write
	h.mu.Unlock()
}
