package gpu

import (
	"context"
	"errors"
)

// The reasons a backend cannot read the GPUs: the `reason` label of
// jobscope_gpu_backend_up, short and machine-readable so that alerts and
// dashboards can tell "no driver on this node" from "the DCGM exporter is
// down". The set is closed: a backend maps every failure onto one of these
// (docs/metrics-node.md lists them).
const (
	// nvml
	ReasonLibraryNotFound = "library_not_found" // libnvidia-ml.so.1 cannot be loaded
	ReasonDriverNotLoaded = "driver_not_loaded" // the library is there, the kernel driver is not
	ReasonNoPermission    = "no_permission"     // NVML may not talk to the driver (device nodes)
	ReasonInitFailed      = "init_failed"       // nvmlInit failed otherwise
	ReasonQueryFailed     = "query_failed"      // NVML initialised but cannot count the GPUs
	// dcgm
	ReasonUnreachable = "unreachable"       // no answer at --dcgm.exporter-url (refused, DNS, reset)
	ReasonHTTPStatus  = "http_status"       // an answer other than 200 OK
	ReasonNotDCGM     = "not_dcgm_exporter" // a page without a single DCGM_FI_ series
	ReasonParseError  = "parse_error"       // a DCGM page that is not valid text format
	// any backend
	ReasonTimeout = "timeout" // the read did not finish within its deadline
	ReasonError   = "error"   // anything else (should not happen: a backend maps its failures)
)

// Reasons lists every reason value, in the order the docs give them.
var Reasons = []string{
	ReasonLibraryNotFound, ReasonDriverNotLoaded, ReasonNoPermission, ReasonInitFailed, ReasonQueryFailed,
	ReasonUnreachable, ReasonHTTPStatus, ReasonNotDCGM, ReasonParseError,
	ReasonTimeout, ReasonError,
}

// UnavailableError is ErrUnavailable with its reason (one of the Reason*
// constants) and cause.
type UnavailableError struct {
	Reason string
	Err    error
}

func (e *UnavailableError) Error() string {
	return ErrUnavailable.Error() + " (" + e.Reason + "): " + e.Err.Error()
}

// Unwrap makes errors.Is(err, ErrUnavailable) and the cause's own
// errors.Is both hold.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// Unavailable returns an error wrapping ErrUnavailable that carries reason.
func Unavailable(reason string, err error) error {
	return &UnavailableError{Reason: reason, Err: err}
}

// Reason is the reason label for the error a Snapshot returned: "" for
// nil, the backend's reason for an UnavailableError, ReasonTimeout for a
// read cut short by its context, ReasonError otherwise.
func Reason(err error) string {
	var ue *UnavailableError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ue):
		return ue.Reason
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ReasonTimeout
	}
	return ReasonError
}
