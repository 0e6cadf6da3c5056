package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Error kinds; test with errors.Is. Every error the client returns wraps one
// of them (or slurm.ErrNotSupported).
var (
	// ErrUnauthorized: HTTP 401/403, the token was rejected or has expired.
	ErrUnauthorized = errors.New("token rejected or expired")
	// ErrNotFound: HTTP 404 (unknown API version or endpoint).
	ErrNotFound = errors.New("endpoint not found")
	// ErrServer: HTTP 5xx or another unexpected status.
	ErrServer = errors.New("slurmrestd error")
	// ErrTimeout: the request did not finish within its timeout.
	ErrTimeout = errors.New("request timed out")
	// ErrUnreachable: the connection could not be made (refused, DNS, socket missing).
	ErrUnreachable = errors.New("slurmrestd unreachable")
	// ErrMalformed: the body was not the JSON expected (truncated, invalid, wrong shape).
	ErrMalformed = errors.New("malformed response")
	// ErrBodyTooLarge: the body exceeded Options.MaxBodyBytes.
	ErrBodyTooLarge = errors.New("response body too large")
	// ErrToken: the token file could not be read.
	ErrToken = errors.New("cannot read token file")
	// ErrNotSlurmrestd: the server answered, but not as slurmrestd does (an
	// HTML page, JSON without Slurm's paths or meta): a wrong URL or port.
	ErrNotSlurmrestd = errors.New("not slurmrestd")
)

// Error is one failed request. It never contains the token.
type Error struct {
	// Resource is "jobs", "nodes", ... or "negotiate".
	Resource string
	// Method and Path of the request, e.g. "GET", "/slurm/v0.0.38/jobs".
	Method, Path string
	// Status is the HTTP status, 0 when no response came.
	Status int
	// SlurmErrors are the error texts slurmrestd put in the body, if any.
	SlurmErrors []string
	// TokenFile is set on authentication failures so that the operator
	// knows which file to refresh.
	TokenFile string
	// URL is the server, as configured (never with a token).
	URL string
	// ContentType is the answer's media type, set for ErrNotSlurmrestd.
	ContentType string
	// Kind is one of the Err* sentinels above.
	Kind error
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Kind == ErrNotSlurmrestd {
		// Said plainly: the usual cause is a wrong URL or port.
		ct := e.ContentType
		if ct == "" {
			ct = "without a content type"
		}
		fmt.Fprintf(&b, "%s is not slurmrestd: %s %s answered %d %s", e.URL, e.Method, e.Path, e.Status, ct)
		if e.Err != nil {
			fmt.Fprintf(&b, " %v", e.Err)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "slurmrestd %s: %s %s: ", e.Resource, e.Method, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d: ", e.Status)
	}
	b.WriteString(e.Kind.Error())
	switch {
	case e.Kind == ErrUnauthorized && e.TokenFile != "":
		fmt.Fprintf(&b, " (check the token in %s)", e.TokenFile)
	case e.Kind == ErrUnauthorized:
		b.WriteString(" (no token file configured)")
	case e.TokenFile != "":
		fmt.Fprintf(&b, " (slurmctld down, or the token rejected or expired: slurmrestd 22.05 answers both with HTTP 500; check the token in %s)", e.TokenFile)
	}
	if len(e.SlurmErrors) > 0 {
		fmt.Fprintf(&b, ": slurm says: %s", strings.Join(e.SlurmErrors, "; "))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap exposes both the kind and the cause to errors.Is/As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// slurmErrorTexts pulls the human-readable error texts out of an error body.
// slurmrestd answers errors with its usual JSON envelope, whose "errors"
// entries changed shape across versions (v0.0.38: error/errno; v0.0.40+:
// description/error_number/error/source); some errors (unknown URL, failed
// authentication) are plain text. Never fails: falls back to the text.
func slurmErrorTexts(body []byte) []string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	var env struct {
		Errors []struct {
			Description string `json:"description"`
			Error       string `json:"error"`
			Source      string `json:"source"`
			ErrorNumber *int   `json:"error_number"`
			Errno       *int   `json:"errno"`
		} `json:"errors"`
	}
	if body[0] == '{' && json.Unmarshal(body, &env) == nil {
		var out []string
		for _, e := range env.Errors {
			parts := []string{}
			for _, s := range []string{e.Source, e.Error, e.Description} {
				if s != "" {
					parts = append(parts, s)
				}
			}
			if len(parts) > 0 {
				out = append(out, strings.Join(parts, ": "))
			}
		}
		return out
	}
	return []string{oneLine(string(body), 300)}
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
