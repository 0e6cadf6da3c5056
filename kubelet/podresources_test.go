package kubelet

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// fromGenerated flattens an answer decoded by the generated types, the
// reference decodeList is held to.
func fromGenerated(resp *podresourcesv1.ListPodResourcesResponse) []podResources {
	var pods []podResources
	for _, p := range resp.GetPodResources() {
		pod := podResources{name: p.GetName(), namespace: p.GetNamespace()}
		for _, c := range p.GetContainers() {
			ct := containerResources{name: c.GetName()}
			for _, d := range c.GetDevices() {
				ct.devices = append(ct.devices, containerDevices{resourceName: d.GetResourceName(), deviceIDs: d.GetDeviceIds()})
			}
			for _, r := range c.GetDynamicResources() {
				claim := dynamicResource{claimName: r.GetClaimName(), claimNamespace: r.GetClaimNamespace()}
				for _, d := range r.GetClaimResources() {
					claim.devices = append(claim.devices, claimDevice{driverName: d.GetDriverName(), poolName: d.GetPoolName(), deviceName: d.GetDeviceName()})
				}
				ct.claims = append(ct.claims, claim)
			}
			pod.containers = append(pod.containers, ct)
		}
		pods = append(pods, pod)
	}
	return pods
}

// A whole answer as a kubelet with CPU, memory and DRA managers sends it:
// the fields decodeList skips surround the ones it reads.
var fullAnswer = &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{
	{Name: "train-0", Namespace: "ml", CpuIds: []int64{2, 3, 64},
		Memory: []*podresourcesv1.ContainerMemory{{MemoryType: "hugepages-1Gi", Size: 1 << 30,
			Topology: &podresourcesv1.TopologyInfo{Nodes: []*podresourcesv1.NUMANode{{ID: 1}}}}},
		Containers: []*podresourcesv1.ContainerResources{
			{Name: "main", CpuIds: []int64{2, 3},
				Devices: []*podresourcesv1.ContainerDevices{
					{ResourceName: "nvidia.com/gpu", DeviceIds: []string{"GPU-bbbb", "GPU-aaaa"},
						Topology: &podresourcesv1.TopologyInfo{Nodes: []*podresourcesv1.NUMANode{{ID: 0}}}},
					{ResourceName: "rdma/ib", DeviceIds: []string{"mlx5_0"}},
				},
				DynamicResources: []*podresourcesv1.DynamicResource{{ClaimName: "gpu-claim", ClaimNamespace: "ml",
					ClaimResources: []*podresourcesv1.ClaimResource{{DriverName: "gpu.nvidia.com", PoolName: "node-1",
						DeviceName: "gpu-0", CdiDevices: []*podresourcesv1.CDIDevice{{Name: "nvidia.com/gpu=0"}}}}}}},
			{Name: "sidecar"},
		}},
	{Name: "infer-1", Namespace: "serve", Containers: []*podresourcesv1.ContainerResources{
		{Name: "server", Devices: []*podresourcesv1.ContainerDevices{
			{ResourceName: "nvidia.com/gpu", DeviceIds: []string{"GPU-cccc::1"}}}}}},
}}

func TestDecodeListAgreesWithGenerated(t *testing.T) {
	b, err := proto.Marshal(fullAnswer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeList(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := fromGenerated(fullAnswer); !reflect.DeepEqual(got, want) {
		t.Errorf("decodeList\n got  %+v\n want %+v", got, want)
	}
}

func TestDecodeListErrors(t *testing.T) {
	var (
		truncated = protowire.AppendTag(nil, listPodResources, protowire.BytesType)
		badUTF8   = protowire.AppendBytes(protowire.AppendTag(nil, podName, protowire.BytesType), []byte{0xff})
		inPod     = protowire.AppendBytes(protowire.AppendTag(nil, listPodResources, protowire.BytesType), badUTF8)
	)
	for _, tt := range []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated", truncated, "unexpected EOF"},
		{"field 0", []byte{0x02, 0x00}, "invalid field number"},
		{"invalid UTF-8", inPod, "pod_resources: string field contains invalid UTF-8"},
		{"lone end group", []byte{0x0c}, "mismatching end group marker"},
	} {
		if _, err := decodeList(tt.b); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: decodeList(%x) = %v; want %q", tt.name, tt.b, err, tt.want)
		}
	}
}

// FuzzDecodeList holds decodeList to the generated types: whatever
// proto.Unmarshal accepts, decodeList accepts and reads the same. (It may
// accept more: the fields it skips are not checked inside.)
func FuzzDecodeList(f *testing.F) {
	b, err := proto.Marshal(fullAnswer)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeList(b)
		var resp podresourcesv1.ListPodResourcesResponse
		if refErr := proto.Unmarshal(b, &resp); refErr != nil {
			return
		}
		if err != nil {
			t.Fatalf("proto.Unmarshal accepts %x, decodeList: %v", b, err)
		}
		if want := fromGenerated(&resp); !reflect.DeepEqual(got, want) {
			t.Fatalf("%x:\n decodeList %+v\n generated  %+v", b, got, want)
		}
	})
}

func TestGRPCTimeout(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "1n"},
		{0, "1n"},
		{999, "999n"},
		{99_999_999, "99999999n"},
		{100_000_000, "100000u"},
		{30 * time.Second, "30000000u"},
		{5 * time.Minute, "300000m"},
		{200 * time.Hour, "720000S"},
		{1 << 62, "76861434M"},
		{math.MaxInt64, "2562048H"},
	} {
		if got := grpcTimeout(tt.d); got != tt.want {
			t.Errorf("grpcTimeout(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}
