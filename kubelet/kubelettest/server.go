// Package kubelettest serves the kubelet's pod-resources v1 API with
// grpc-go and the generated types, as a kubelet does, on a unix socket.
package kubelettest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// ListFunc answers a List call.
type ListFunc func(ctx context.Context) (*podresourcesv1.ListPodResourcesResponse, error)

type server struct {
	podresourcesv1.UnimplementedPodResourcesListerServer
	list ListFunc
}

func (s *server) List(ctx context.Context, _ *podresourcesv1.ListPodResourcesRequest) (*podresourcesv1.ListPodResourcesResponse, error) {
	return s.list(ctx)
}

// Serve starts a pod-resources server answering List with resp and returns
// its socket path; it stops when the test ends.
func Serve(t testing.TB, resp *podresourcesv1.ListPodResourcesResponse) string {
	t.Helper()
	sock := SocketPath(t)
	ServeAt(t, sock, func(context.Context) (*podresourcesv1.ListPodResourcesResponse, error) { return resp, nil })
	return sock
}

// SocketPath returns a socket path in a directory removed when the test
// ends. Unix socket paths are limited to 108 bytes; t.TempDir's can be
// longer.
func SocketPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kubelet")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	return filepath.Join(dir, "kubelet.sock")
}

// ServeAt starts a pod-resources server on sock answering List with list
// (nil: a server without the pod-resources service, as a kubelet with the
// API off). The returned stop ends it (and removes the socket, as a
// kubelet restarting does); it is also called when the test ends.
func ServeAt(t testing.TB, sock string, list ListFunc) (stop func()) {
	t.Helper()
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	if list != nil {
		podresourcesv1.RegisterPodResourcesListerServer(srv, &server{list: list})
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		srv.Stop()
		if err := <-done; err != nil {
			t.Errorf("pod-resources server: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}
