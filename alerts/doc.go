// Package alerts holds jobscope's Prometheus recording and alerting rules (rules.yml,
// alerts.yml), their promtool unit tests (tests/) and, in its test, the checks that keep them
// honest: promtool lint and unit tests, annotations and severities, a runbook per alert under
// docs/runbooks, `cluster` in every grouping, and only documented metrics read.
// docs/alerts.md describes the rules.
package alerts
