// Package promtest runs a real Prometheus server on loopback for tests: it
// scrapes the targets a test names (jobscope's own binaries, or static pages
// such as the golden /metrics files), evaluates rule files, and answers
// PromQL through client_golang's API client.
//
// It exists so that every query jobscope publishes (the joins docs/names.md
// documents, recording and alerting rules) is run by the engine users run,
// not by a re-implementation; its own test scrapes a fixed page and
// evaluates a rule against it. It needs Debian's `prometheus`
// package (make deps installs it); without the binary a test is skipped,
// except under CI, where it fails.
//
// Only tests import it. It may import client_golang's API client (test/layout
// exempts it) and test/testkit.
package promtest
