// Package testkit holds the small helpers tests across packages share, so
// none is written twice: a log buffer safe for concurrent writers, and the
// decoding of a /metrics page into families.
//
// Any package's tests may import it (test/layout allows it to every source).
// It imports nothing of jobscope and not client_golang: page decoding uses
// prometheus/common/expfmt and client_model only.
package testkit
