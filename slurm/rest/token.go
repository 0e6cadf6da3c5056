package rest

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// tokenFile holds the JWT read from a file and re-reads it when the file's
// modification time or size changes. Tokens expire, so whatever rotates them
// (a cron job running `scontrol token`, a Kubernetes secret) only has to
// replace the file; a stat per request is the whole cost.
type tokenFile struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	token   string
	// stale forces a re-read on the next call (after a 401), covering a
	// file replaced within the mtime granularity with the same size.
	stale bool
}

func (t *tokenFile) get() (string, error) {
	fi, err := os.Stat(t.path)
	if err != nil {
		// The path is fine to report; the token is not.
		return "", fmt.Errorf("%w %s: %v", ErrToken, t.path, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stale && t.token != "" && fi.ModTime().Equal(t.modTime) && fi.Size() == t.size {
		return t.token, nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return "", fmt.Errorf("%w %s: %v", ErrToken, t.path, err)
	}
	tok := strings.TrimSpace(string(b))
	// Accept the file as `scontrol token` prints it: "SLURM_JWT=<token>".
	tok = strings.TrimPrefix(tok, "SLURM_JWT=")
	if tok == "" || strings.ContainsAny(tok, "\r\n\t ") {
		return "", fmt.Errorf("%w %s: expected one token on one line", ErrToken, t.path)
	}
	t.token, t.modTime, t.size, t.stale = tok, fi.ModTime(), fi.Size(), false
	return tok, nil
}

// invalidate makes the next get re-read the file.
func (t *tokenFile) invalidate() {
	t.mu.Lock()
	t.stale = true
	t.mu.Unlock()
}
