// Package kubelet asks the kubelet which pod holds which GPU, through its
// pod-resources v1 gRPC API on a unix socket, and returns typed
// assignments. Deciding who holds a GPU is package tenancy's job; the
// metrics are collectors/node's.
//
// May import: the kubelet pod-resources API and gRPC. No other jobscope
// package, no Prometheus code.
package kubelet
