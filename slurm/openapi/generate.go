package openapi

// The v0.0.42-v0.0.45 test payloads are generated from the OpenAPI specs that
// Slinky publishes (no recorded payloads of those versions were available).
//go:generate go run ./internal/specgen -specs internal/specgen/testdata -out testdata
