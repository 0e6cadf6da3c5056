// Package gputest builds go-nvml mocks of whole GPU nodes for the nvml
// backend's tests, the node agent's golden page and its benchmark. Every
// method the backend calls is set, so a new call fails loudly (the mock
// panics on an unset method) instead of silently reading zero.
//
// Test support only. May import: go-nvml and its mock.
package gputest
