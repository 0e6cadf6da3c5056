// Package kubelet asks the kubelet which pod holds which GPU, through its
// pod-resources v1 gRPC API on a unix socket, and returns typed
// assignments. Deciding who holds a GPU is package tenancy's job; the
// metrics are collectors/node's.
//
// The one call it makes (List) goes over net/http's HTTP/2 and is decoded
// with protowire, not grpc-go and the generated types, which would add
// 2.6 MB to the node agent's binary; its tests run it against grpc-go
// serving the generated types (kubelettest), as a kubelet does.
//
// May import: protowire and the standard library (tests: the kubelet
// pod-resources API and gRPC). No other jobscope package, no Prometheus
// code.
package kubelet
