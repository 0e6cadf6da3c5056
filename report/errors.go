package report

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// Exit codes: 1 means Prometheus answered and the job is not there; 2 means
// no answer could be given (bad invocation, Prometheus unreachable or
// failing), the same code kingpin's usage errors get.
const (
	ExitNotFound = 1
	ExitFailure  = 2
)

// NotFoundError: Prometheus has no series of the job over the lookback.
type NotFoundError struct {
	JobID    string
	URL      string
	Lookback time.Duration
	Cluster  string
}

func (e *NotFoundError) Error() string {
	where := ""
	if e.Cluster != "" {
		where = fmt.Sprintf(" (cluster %q)", e.Cluster)
	}
	return fmt.Sprintf("job %s not found in Prometheus at %s%s over the last %s", e.JobID, e.URL, where, model.Duration(e.Lookback))
}

// ExitCode is what the command exits with.
func (e *NotFoundError) ExitCode() int { return ExitNotFound }

// UsageError is bad input: a malformed job ID, an ambiguous cluster.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// ExitCode is what the command exits with.
func (e *UsageError) ExitCode() int { return ExitFailure }

// PrometheusError is a query that failed: unreachable, timed out, or an
// error answer.
type PrometheusError struct {
	URL  string
	What string
	Err  error
}

func (e *PrometheusError) Error() string {
	return fmt.Sprintf("Prometheus at %s: %s: %v", e.URL, e.What, e.Err)
}

func (e *PrometheusError) Unwrap() error { return e.Err }

// ExitCode is what the command exits with.
func (e *PrometheusError) ExitCode() int { return ExitFailure }
