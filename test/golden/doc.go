// Package golden holds the checks the exporter tests share: golden files
// rewritten with -update, promlint over a page or a registry, and the metric
// docs kept equal to what is emitted.
//
// It defines the -update flag for every test binary that imports it; a test
// package must not define its own.
//
// Only tests import it. It may import client_golang (registries, testutil,
// promlint): test/layout exempts it from the rule that only collectors/ and
// cmd/ do.
package golden
