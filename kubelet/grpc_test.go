package kubelet_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"

	"jobscope/kubelet"
	"jobscope/kubelet/kubelettest"
)

func oneGPU(pod string) *podresourcesv1.ListPodResourcesResponse {
	return &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{
		{Name: pod, Namespace: "ml", Containers: []*podresourcesv1.ContainerResources{
			{Name: "main", Devices: []*podresourcesv1.ContainerDevices{
				{ResourceName: "nvidia.com/gpu", DeviceIds: []string{"GPU-aaaa"}},
			}},
		}},
	}}
}

func listWithin(t *testing.T, c *kubelet.Client, d time.Duration) ([]kubelet.Assignment, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.List(ctx)
}

// The kubelet's errors arrive as gRPC statuses, with grpc-go's code names.
func TestListStatusErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		list kubelettest.ListFunc
		want string
	}{
		{"API off", nil, "gRPC status Unimplemented: unknown service v1.PodResourcesLister"},
		{"handler error", func(context.Context) (*podresourcesv1.ListPodResourcesResponse, error) {
			return nil, status.Error(codes.ResourceExhausted, "rate limited: 100% of qps")
		}, "gRPC status ResourceExhausted: rate limited: 100% of qps"},
		{"kubelet's deadline", func(context.Context) (*podresourcesv1.ListPodResourcesResponse, error) {
			return nil, status.Error(codes.DeadlineExceeded, "too slow")
		}, "gRPC status DeadlineExceeded: too slow"},
		{"unnamed code", func(context.Context) (*podresourcesv1.ListPodResourcesResponse, error) {
			return nil, status.Error(codes.Code(42), "")
		}, "gRPC status code 42"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sock := kubelettest.SocketPath(t)
			kubelettest.ServeAt(t, sock, tt.list)
			c := kubelet.NewClient(sock)
			defer func() { _ = c.Close() }()
			_, err := listWithin(t, c, 5*time.Second)
			if err == nil || !strings.HasSuffix(err.Error(), tt.want) || !strings.Contains(err.Error(), sock) {
				t.Errorf("List: %v; want it to name %s and end %q", err, sock, tt.want)
			}
			if got, want := errors.Is(err, context.DeadlineExceeded), strings.Contains(tt.want, "DeadlineExceeded"); got != want {
				t.Errorf("errors.Is(%v, context.DeadlineExceeded) = %v", err, got)
			}
		})
	}
}

// The call's deadline travels as grpc-timeout, so the kubelet gives up
// when jobscope does.
func TestListDeadline(t *testing.T) {
	sock := kubelettest.SocketPath(t)
	serverDeadline := make(chan time.Duration, 1)
	kubelettest.ServeAt(t, sock, func(ctx context.Context) (*podresourcesv1.ListPodResourcesResponse, error) {
		d, ok := ctx.Deadline()
		if !ok {
			serverDeadline <- -1
		} else {
			serverDeadline <- time.Until(d)
		}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	c := kubelet.NewClient(sock)
	defer func() { _ = c.Close() }()
	start := time.Now()
	_, err := listWithin(t, c, 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("List against a hung kubelet: %v; want the deadline", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("List took %v past a 300ms deadline", el)
	}
	if d := <-serverDeadline; d <= 0 || d > 300*time.Millisecond {
		t.Errorf("the kubelet saw a deadline %v away; want one within the client's 300ms", d)
	}
}

// A kubelet restart removes and recreates its socket; the next List dials
// the new one.
func TestListAcrossKubeletRestart(t *testing.T) {
	sock := kubelettest.SocketPath(t)
	respond := func(pod string) kubelettest.ListFunc {
		return func(context.Context) (*podresourcesv1.ListPodResourcesResponse, error) { return oneGPU(pod), nil }
	}
	stop := kubelettest.ServeAt(t, sock, respond("before"))
	c := kubelet.NewClient(sock)
	defer func() { _ = c.Close() }()
	if got, err := listWithin(t, c, 5*time.Second); err != nil || len(got) != 1 || got[0].Pod != "before" {
		t.Fatalf("List = %+v, %v", got, err)
	}
	stop()
	if _, err := listWithin(t, c, 2*time.Second); err == nil || strings.Contains(err.Error(), "http://") {
		t.Errorf("List with the kubelet down: %v; want an error that names the socket, not a made-up URL", err)
	} else {
		t.Logf("kubelet down: %v", err)
	}
	stop = kubelettest.ServeAt(t, sock, respond("after"))
	if got, err := listWithin(t, c, 5*time.Second); err != nil || len(got) != 1 || got[0].Pod != "after" {
		t.Fatalf("List after the restart = %+v, %v", got, err)
	}
	// A restart between two calls costs no failed call: the closed
	// connection is not reused.
	stop()
	kubelettest.ServeAt(t, sock, respond("again"))
	if got, err := listWithin(t, c, 5*time.Second); err != nil || len(got) != 1 || got[0].Pod != "again" {
		t.Fatalf("List after a restart between calls = %+v, %v", got, err)
	}
}

// An answer over the 16 MiB bound is refused, not read.
func TestListTooLarge(t *testing.T) {
	big := oneGPU("big")
	ids := make([]string, 0, 600_000)
	for len(ids) < cap(ids) {
		ids = append(ids, "GPU-0123456789abcdefghijklmn")
	}
	big.PodResources[0].Containers[0].Devices[0].DeviceIds = ids
	sock := kubelettest.Serve(t, big)
	c := kubelet.NewClient(sock)
	defer func() { _ = c.Close() }()
	_, err := listWithin(t, c, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "over the 16777216-byte limit") {
		t.Errorf("List of an 18 MB answer: %v; want it refused for its size", err)
	}
}

// Something on the socket that is not gRPC: a clear error, not a hang.
func TestListNotGRPC(t *testing.T) {
	t.Run("HTTP/2", func(t *testing.T) {
		testListNotGRPC(t, true, "HTTP status 404 Not Found, not a gRPC answer")
	})
	t.Run("HTTP/1 only", func(t *testing.T) {
		// net/http's error depends on who is faster: "frame too large, …
		// looked like an HTTP/1.1 header", "client conn could not be
		// established", a broken pipe. Any error will do, in time.
		testListNotGRPC(t, false, "kubelet pod-resources List on ")
	})
}

func testListNotGRPC(t *testing.T, h2 bool, want string) {
	sock := kubelettest.SocketPath(t)
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(h2)
	srv := &http.Server{Protocols: &protocols, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<!DOCTYPE html>not here", http.StatusNotFound)
	})}
	go func() { _ = srv.Serve(lis) }()
	defer func() { _ = srv.Close() }()
	c := kubelet.NewClient(sock)
	defer func() { _ = c.Close() }()
	_, err = listWithin(t, c, 5*time.Second)
	t.Logf("List: %v", err)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("List against a web server: %v; want it to say %q", err, want)
	}
}
