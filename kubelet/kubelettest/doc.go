// Package kubelettest serves the kubelet's pod-resources v1 API on a real
// unix socket, for tests of the kubelet client and the node agent.
//
// Test support only. May import: the pod-resources API and gRPC.
package kubelettest
