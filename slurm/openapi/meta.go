package openapi

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Meta is what every response says about itself.
type Meta struct {
	// Release is Slurm's release string, e.g. "22.05.8".
	Release string
	// Plugin is the data_parser plugin (v0.0.39+) or, for older versions,
	// the openapi plugin type: "data_parser/v0.0.44", "openapi/v0.0.38".
	Plugin string
	// Cluster is the cluster name: meta's slurm.cluster (v0.0.39+), else,
	// for versions whose meta has none (v0.0.37/38), the "cluster" field of
	// the first job that names one (jobs responses only).
	Cluster string
	// LastUpdate is the response's last_update, zero when it has none.
	LastUpdate time.Time
	// Warnings are the response's warnings, as "source: description",
	// followed by the decoder's own for values it could not parse and left
	// empty (at most 10, then a count; prefixed "jobscope: ").
	Warnings []string
}

// APIError is a response whose "errors" array was not empty. Slurm can send
// it with HTTP 200 and partial data; the decoders return it instead of the
// data so that a poller keeps the previous value.
type APIError struct {
	Errors []ErrorEntry
	// Omitted counts the entries past the first ten, which are not kept.
	Omitted int
}

// ErrorEntry is one element of "errors".
type ErrorEntry struct {
	// Number is error_number (v0.0.39+) or errno (older); 0 when absent.
	Number      int
	Error       string
	Description string
	Source      string
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("slurm: ")
	for i, x := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		msg := x.Description
		if msg == "" {
			msg = x.Error
		} else if x.Error != "" && x.Error != msg {
			msg = x.Error + ": " + msg
		}
		if x.Source != "" {
			msg = x.Source + ": " + msg
		}
		if x.Number != 0 {
			msg = fmt.Sprintf("%s (error %d)", msg, x.Number)
		}
		b.WriteString(msg)
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "; and %d more", e.Omitted)
	}
	return b.String()
}

// DetectVersion returns the data_parser version ("v0.0.44") named in a plugin
// string such as "data_parser/v0.0.44" or "openapi/v0.0.38", or "" when the
// string names none ("openapi/slurmctld").
func DetectVersion(plugin string) string {
	i := strings.Index(plugin, "v0.0.")
	if i < 0 {
		return ""
	}
	j := i + len("v0.0.")
	for j < len(plugin) && plugin[j] >= '0' && plugin[j] <= '9' {
		j++
	}
	if j == i+len("v0.0.") {
		return ""
	}
	return plugin[i:j]
}

// decodeTop reads the top-level object of a response. It handles meta,
// errors, warnings and last_update itself and calls body for every other
// name; body must consume the value (skip what it does not know). The whole
// stream is read before the errors array is judged, because Slurm may print
// "errors" after the data.
func decodeTop(rd io.Reader, body func(r *reader, name []byte) error) (Meta, error) {
	r := newReader(rd)
	var meta Meta
	var apiErr APIError
	if r.peek() == 0 {
		if r.rerr != nil {
			return meta, r.eofErr()
		}
		return meta, fmt.Errorf("openapi: empty input")
	}
	err := r.object(func(name []byte) error {
		switch string(name) {
		case "meta":
			return r.meta(&meta)
		case "errors":
			return r.array(func() error { return r.errorEntry(&apiErr) })
		case "warnings":
			// Bounded like jobscope's own warnings: a server repeating a
			// warning per job must not grow one log line without limit.
			skipped := 0
			err := r.array(func() error {
				w, err := r.warning()
				if err == nil && w != "" {
					if len(meta.Warnings) < maxWarnings {
						meta.Warnings = append(meta.Warnings, w)
					} else {
						skipped++
					}
				}
				return err
			})
			if skipped > 0 {
				meta.Warnings = append(meta.Warnings, fmt.Sprintf("%d more warnings from slurm", skipped))
			}
			return err
		case "last_update":
			t, err := r.unixTime()
			meta.LastUpdate = t
			return err
		}
		return body(r, name)
	})
	r.flushWarnings(&meta)
	if err != nil {
		return meta, err
	}
	// Anything after the top-level value means the input is not one response.
	if r.peek() != 0 {
		return meta, fmt.Errorf("openapi: data after the response object")
	}
	if r.rerr != nil {
		return meta, r.eofErr()
	}
	if len(apiErr.Errors) > 0 {
		return meta, &apiErr
	}
	return meta, nil
}

func (r *reader) meta(m *Meta) error {
	var typ, parser string
	err := r.object(func(name []byte) error {
		switch string(name) {
		case "plugin", "plugins":
			return r.object(func(name []byte) error {
				switch string(name) {
				case "type":
					s, err := r.str()
					typ = s
					return err
				case "data_parser":
					s, err := r.str()
					parser = s
					return err
				}
				return r.skip()
			})
		case "Slurm", "slurm":
			return r.object(func(name []byte) error {
				switch string(name) {
				case "release":
					s, err := r.str()
					m.Release = s
					return err
				case "cluster":
					s, err := r.str()
					m.Cluster = s
					return err
				}
				return r.skip()
			})
		}
		return r.skip()
	})
	m.Plugin = parser
	if m.Plugin == "" {
		m.Plugin = typ
	}
	return err
}

func (r *reader) errorEntry(apiErr *APIError) error {
	var e ErrorEntry
	if r.peekKind() == '"' {
		s, err := r.str()
		e.Error = s
		apiErr.add(e)
		return err
	}
	err := r.object(func(name []byte) error {
		var err error
		switch string(name) {
		case "error":
			e.Error, err = r.str()
		case "description":
			e.Description, err = r.str()
		case "source":
			e.Source, err = r.str()
		case "error_number", "errno", "error_code":
			var n number
			n, err = r.num()
			e.Number = int(n.v)
		default:
			err = r.skip()
		}
		return err
	})
	apiErr.add(e)
	return err
}

// add keeps the first maxWarnings entries and counts the rest, so a server
// that reports one error per job cannot make one error message unbounded.
func (a *APIError) add(e ErrorEntry) {
	if len(a.Errors) >= maxWarnings {
		a.Omitted++
		return
	}
	a.Errors = append(a.Errors, e)
}

func (r *reader) warning() (string, error) {
	if r.peekKind() == '"' {
		return r.str()
	}
	var desc, src string
	err := r.object(func(name []byte) error {
		var err error
		switch string(name) {
		case "description", "warning":
			desc, err = r.str()
		case "source":
			src, err = r.str()
		default:
			err = r.skip()
		}
		return err
	})
	if src != "" {
		desc = src + ": " + desc
	}
	return desc, err
}
