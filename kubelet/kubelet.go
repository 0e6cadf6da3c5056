package kubelet

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// DefaultSocket is the kubelet's pod-resources socket.
const DefaultSocket = "/var/lib/kubelet/pod-resources/kubelet.sock"

// maxMessage bounds a List answer: a node with hundreds of pods is well
// below it.
const maxMessage = 16 << 20

// Assignment is one container holding one GPU.
type Assignment struct {
	Namespace, Pod, Container string
	Resource                  string // e.g. nvidia.com/gpu
	Device                    Device
}

// Device is a parsed device plugin ID.
type Device struct {
	// UUID is "GPU-…" or "MIG-…"; "" when only the minor is known.
	UUID string
	// Minor is N of /dev/nvidiaN (GKE's "nvidia0" IDs); -1 otherwise.
	Minor int
	// Replica is N of a time-sliced "GPU-…::N"; -1 otherwise.
	Replica int
}

// ParseDeviceID reads the device IDs NVIDIA's device plugin and GKE
// report: "GPU-<uuid>", "GPU-<uuid>::N" (time-slicing replicas),
// "MIG-<uuid>", and "nvidia0". Anything else is not a GPU.
func ParseDeviceID(id string) (Device, bool) {
	d := Device{Minor: -1, Replica: -1}
	if n, ok := strings.CutPrefix(id, "nvidia"); ok {
		m, err := strconv.Atoi(n)
		if err != nil || m < 0 || m > 253 || n != strconv.Itoa(m) {
			return Device{}, false
		}
		d.Minor = m
		return d, true
	}
	uuid, rep, hasRep := strings.Cut(id, "::")
	if !strings.HasPrefix(uuid, "GPU-") && !strings.HasPrefix(uuid, "MIG-") {
		return Device{}, false
	}
	if len(uuid) <= len("GPU-") || strings.ContainsAny(uuid, " \t\n/:") {
		return Device{}, false
	}
	if hasRep {
		r, err := strconv.Atoi(rep)
		if err != nil || r < 0 {
			return Device{}, false
		}
		d.Replica = r
	}
	d.UUID = uuid
	return d, true
}

// Client lists pod resources. It is safe for concurrent use and dials once.
type Client struct {
	socket string

	mu   sync.Mutex
	conn *grpc.ClientConn
}

// NewClient returns a client of the kubelet socket at path; nothing is
// dialled until List.
func NewClient(path string) *Client { return &Client{socket: path} }

func (c *Client) client() (podresourcesv1.PodResourcesListerClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		conn, err := grpc.NewClient("unix://"+c.socket,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage)))
		if err != nil {
			return nil, fmt.Errorf("kubelet pod-resources %s: %w", c.socket, err)
		}
		c.conn = conn
	}
	return podresourcesv1.NewPodResourcesListerClient(c.conn), nil
}

// List returns every GPU held by a container on this node, sorted.
func (c *Client) List(ctx context.Context) ([]Assignment, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	resp, err := cl.List(ctx, &podresourcesv1.ListPodResourcesRequest{})
	if err != nil {
		return nil, fmt.Errorf("kubelet pod-resources List on %s: %w", c.socket, err)
	}
	return Assignments(resp), nil
}

// Assignments flattens a List answer to the GPUs in it.
func Assignments(resp *podresourcesv1.ListPodResourcesResponse) []Assignment {
	var out []Assignment
	for _, p := range resp.GetPodResources() {
		for _, ct := range p.GetContainers() {
			for _, dev := range ct.GetDevices() {
				for _, id := range dev.GetDeviceIds() {
					d, ok := ParseDeviceID(id)
					if !ok {
						continue
					}
					out = append(out, Assignment{
						Namespace: p.GetNamespace(), Pod: p.GetName(), Container: ct.GetName(),
						Resource: dev.GetResourceName(), Device: d,
					})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Pod != b.Pod {
			return a.Pod < b.Pod
		}
		if a.Container != b.Container {
			return a.Container < b.Container
		}
		return a.Device.UUID < b.Device.UUID
	})
	return out
}

// Close closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}
