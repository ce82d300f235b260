package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"moodfood/internal/atomicfile"
	"moodfood/internal/nofollow"
	"moodfood/retrain"
)

// tokenEnv is the environment variable holding the operator token when no
// -operator-token-file is given.
const tokenEnv = "MOODFOOD_OPERATOR_TOKEN"

// minTokenBytes is the shortest operator token accepted.
const minTokenBytes = 16

// operators guards the control endpoints: a request needs the operator
// token as "Authorization: Bearer TOKEN", and the change it makes goes
// through r, which writes it to the retrain history and notifies.
type operators struct {
	sum [sha256.Size]byte // of the token: compared in constant time whatever the length
	r   *retrain.Retrainer
}

// readToken returns the operator token from file, or from $MOODFOOD_OPERATOR_TOKEN
// when file is empty; "" when neither is set (control is then off).
func readToken(file string) (string, error) {
	tok := os.Getenv(tokenEnv)
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("operator token: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 4097))
		if err != nil {
			return "", fmt.Errorf("operator token: %w", err)
		}
		if len(b) > 4096 {
			return "", errors.New("operator token: file over 4 KiB")
		}
		tok = string(b)
	}
	tok = strings.TrimSpace(tok)
	if tok != "" && len(tok) < minTokenBytes {
		return "", fmt.Errorf("operator token: at least %d bytes, got %d", minTokenBytes, len(tok))
	}
	return tok, nil
}

// guard wraps a control endpoint: 403 when control is off (o == nil), 401
// without the right token.
func (o *operators) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if o == nil {
			writeError(w, http.StatusForbidden, "control endpoints are disabled: start the server with -operator-token-file FILE or "+tokenEnv)
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(sum[:], o.sum[:]) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="moodfood control"`)
			writeError(w, http.StatusUnauthorized, "control endpoints need the operator token (Authorization: Bearer TOKEN)")
			return
		}
		next(w, r)
	}
}

// actor names who made a control request in the history: the X-Operator
// header (a name, at most 64 printable characters) and the client address.
func actor(r *http.Request) string {
	name := r.Header.Get("X-Operator")
	if len(name) > 64 || strings.IndexFunc(name, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0 {
		name = ""
	}
	if name == "" {
		name = "operator"
	}
	return name + " (token) from " + r.RemoteAddr
}

// queryIDKey reads the key query ids are signed with from file (default
// ROOT/data/query_id.key), creating it with 32 random bytes, mode 0600,
// when it does not exist. Without a file or a root it returns nil: a random
// key per process.
func queryIDKey(root, file string) ([]byte, error) {
	if file == "" && root == "" {
		return nil, nil // serve.Options: a random key per process
	}
	if file == "" {
		file = filepath.Join(root, "data", "query_id.key")
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, fmt.Errorf("query id key: %w", err)
		}
	}
	f, err := nofollow.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		raw := make([]byte, 32)
		rand.Read(raw)
		key := []byte(hex.EncodeToString(raw)) // the file's text is the key, as when it is read back
		if err := atomicfile.WriteBytes(file, 0o600, append(key, '\n')); err != nil {
			return nil, fmt.Errorf("query id key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("query id key: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return nil, fmt.Errorf("query id key: %w", err)
	}
	key := bytes.TrimSpace(b)
	if len(key) < minTokenBytes || len(b) > 4096 {
		return nil, fmt.Errorf("query id key %s: want %d to 4096 bytes", file, minTokenBytes)
	}
	return key, nil
}
