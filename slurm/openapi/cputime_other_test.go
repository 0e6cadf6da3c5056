//go:build !unix

package openapi

func processCPU() float64 { return 0 }
