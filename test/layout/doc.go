// Package layout checks the module's import rules with `go list`, so the
// layout the README describes is one the build enforces:
//
//   - only collectors/ and cmd/ speak Prometheus: no other package imports
//     client_golang or any jobscope/collectors package;
//   - a source (a package outside collectors/, cmd/ and test/) imports
//     another source only along an edge listed in sourceEdges, which is
//     the set of models and readers it is meant to build on.
//
// A new source package must be added to sourceEdges; an import not listed
// there fails the test with the edge to add or remove.
//
// It runs `go list` and imports nothing of jobscope.
package layout
