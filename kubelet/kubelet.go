package kubelet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// DefaultSocket is the kubelet's pod-resources socket.
const DefaultSocket = "/var/lib/kubelet/pod-resources/kubelet.sock"

// maxMessage bounds a List answer: a node with hundreds of pods is well
// below it.
const maxMessage = 16 << 20

// Assignment is one container holding one GPU.
type Assignment struct {
	Namespace, Pod, Container string
	Resource                  string // the device plugin's (nvidia.com/gpu) or DRA driver's (gpu.nvidia.com)
	Device                    Device
}

// Device is a parsed device plugin ID or DRA device name.
type Device struct {
	// UUID is "GPU-…" or "MIG-…"; "" when only the minor is known.
	UUID string
	// Minor is N of /dev/nvidiaN (GKE's "nvidiaN" IDs, DRA's "gpu-N");
	// -1 otherwise.
	Minor int
	// Replica is N of a time-sliced "GPU-…::N"; -1 otherwise.
	Replica int
}

// NVIDIADRADriver is the DRA driver of NVIDIA GPUs
// (kubernetes-sigs/dra-driver-nvidia-gpu, before that
// NVIDIA/k8s-dra-driver-gpu): the driver_name of its devices in a
// ResourceClaim's allocation.
const NVIDIADRADriver = "gpu.nvidia.com"

// ParseDRADevice reads a device of a DRA claim: NVIDIA's DRA driver names a
// full GPU "gpu-N" after its /dev/nvidiaN minor. Its MIG devices
// ("gpu-N-mig-…") name a placement, not an instance this node's GPU
// reading knows, and its VFIO ones ("gpu-vfio-N") are passed to a VM: not
// GPUs here, as nothing else of another driver is.
func ParseDRADevice(driver, name string) (Device, bool) {
	n, ok := strings.CutPrefix(name, "gpu-")
	if driver != NVIDIADRADriver || !ok {
		return Device{}, false
	}
	return parseMinor(n)
}

// parseMinor reads N of /dev/nvidiaN as the kernel writes it.
func parseMinor(n string) (Device, bool) {
	m, err := strconv.Atoi(n)
	if err != nil || m < 0 || m > 253 || n != strconv.Itoa(m) {
		return Device{}, false
	}
	return Device{Minor: m, Replica: -1}, true
}

// ParseDeviceID reads the device IDs NVIDIA's device plugin and GKE
// report: "GPU-<uuid>", "GPU-<uuid>::N" (time-slicing replicas),
// "MIG-<uuid>", and "nvidia0". Anything else is not a GPU.
func ParseDeviceID(id string) (Device, bool) {
	if n, ok := strings.CutPrefix(id, "nvidia"); ok {
		return parseMinor(n)
	}
	d := Device{Minor: -1, Replica: -1}
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

// Client lists pod resources. It is safe for concurrent use and keeps one
// connection, dialled on first use and again after the kubelet restarts.
type Client struct {
	socket string
	tr     *http.Transport
	hc     *http.Client
}

// NewClient returns a client of the kubelet socket at path; nothing is
// dialled until List.
func NewClient(path string) *Client {
	tr := newUnixH2Transport(path)
	return &Client{socket: path, tr: tr, hc: &http.Client{Transport: tr}}
}

// listMethod is PodResourcesLister's List; its request message is empty,
// and so is its encoding.
const listMethod = "/v1.PodResourcesLister/List"

// List returns every GPU held by a container on this node, sorted.
func (c *Client) List(ctx context.Context) ([]Assignment, error) {
	msg, err := unaryCall(ctx, c.hc, listMethod, nil, maxMessage)
	var status *grpcStatusError
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &status) {
		// A kubelet that restarted closed the kept connection; a call
		// sent just then fails before the transport sees it closed.
		// List only reads, so it is sent once more, on a new connection.
		msg, err = unaryCall(ctx, c.hc, listMethod, nil, maxMessage)
	}
	if err != nil {
		return nil, fmt.Errorf("kubelet pod-resources List on %s: %w", c.socket, err)
	}
	pods, err := decodeList(msg)
	if err != nil {
		return nil, fmt.Errorf("kubelet pod-resources List on %s: decoding the answer: %w", c.socket, err)
	}
	return assignments(pods), nil
}

// assignments flattens a List answer to the GPUs in it.
func assignments(pods []podResources) []Assignment {
	var out []Assignment
	for _, p := range pods {
		for _, ct := range p.containers {
			add := func(resource string, d Device) {
				out = append(out, Assignment{
					Namespace: p.namespace, Pod: p.name, Container: ct.name,
					Resource: resource, Device: d,
				})
			}
			for _, dev := range ct.devices {
				for _, id := range dev.deviceIDs {
					if d, ok := ParseDeviceID(id); ok {
						add(dev.resourceName, d)
					}
				}
			}
			for _, claim := range ct.claims {
				for _, dev := range claim.devices {
					if d, ok := ParseDRADevice(dev.driverName, dev.deviceName); ok {
						add(dev.driverName, d)
					}
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Assignment) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Pod, b.Pod),
			cmp.Compare(a.Container, b.Container), cmp.Compare(a.Device.UUID, b.Device.UUID),
			cmp.Compare(a.Device.Minor, b.Device.Minor), cmp.Compare(a.Device.Replica, b.Device.Replica),
			cmp.Compare(a.Resource, b.Resource))
	})
	return out
}

// Close closes the idle connection.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}
