package kubelet_test

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"

	"jobscope/kubelet"
	"jobscope/kubelet/kubelettest"
)

func TestParseDeviceID(t *testing.T) {
	tests := []struct {
		id   string
		want kubelet.Device
		ok   bool
	}{
		{"GPU-c2f76b33-7953-256e-8f33-1343419b1a1c", kubelet.Device{UUID: "GPU-c2f76b33-7953-256e-8f33-1343419b1a1c", Minor: -1, Replica: -1}, true},
		{"GPU-c2f76b33-7953-256e-8f33-1343419b1a1c::3", kubelet.Device{UUID: "GPU-c2f76b33-7953-256e-8f33-1343419b1a1c", Minor: -1, Replica: 3}, true},
		{"MIG-5c89852c-d268-c3f3-1b07-005d5ae1dc3f", kubelet.Device{UUID: "MIG-5c89852c-d268-c3f3-1b07-005d5ae1dc3f", Minor: -1, Replica: -1}, true},
		{"nvidia0", kubelet.Device{Minor: 0, Replica: -1}, true},
		{"nvidia7", kubelet.Device{Minor: 7, Replica: -1}, true},
		{"nvidia07", kubelet.Device{}, false},
		{"nvidia255", kubelet.Device{}, false},
		{"nvidiactl", kubelet.Device{}, false},
		{"GPU-", kubelet.Device{}, false},
		{"GPU-x::", kubelet.Device{}, false},
		{"GPU-x::-1", kubelet.Device{}, false},
		{"0000:3b:00.0", kubelet.Device{}, false}, // SR-IOV NIC in the same API
		{"", kubelet.Device{}, false},
	}
	for _, tt := range tests {
		got, ok := kubelet.ParseDeviceID(tt.id)
		if ok != tt.ok || got != tt.want {
			t.Errorf("kubelet.ParseDeviceID(%q) = %+v, %v; want %+v, %v", tt.id, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseDRADevice(t *testing.T) {
	minor := func(n int) kubelet.Device { return kubelet.Device{Minor: n, Replica: -1} }
	tests := []struct {
		driver, name string
		want         kubelet.Device
		ok           bool
	}{
		{"gpu.nvidia.com", "gpu-0", minor(0), true},
		{"gpu.nvidia.com", "gpu-7", minor(7), true},
		{"gpu.nvidia.com", "gpu-253", minor(253), true},
		{"gpu.nvidia.com", "gpu-254", kubelet.Device{}, false},
		{"gpu.nvidia.com", "gpu-07", kubelet.Device{}, false},
		{"gpu.nvidia.com", "gpu--1", kubelet.Device{}, false},
		{"gpu.nvidia.com", "gpu-", kubelet.Device{}, false},
		// MIG placements and VFIO passthrough are not GPUs this node reads.
		{"gpu.nvidia.com", "gpu-0-mig-1g10gb-19-0", kubelet.Device{}, false},
		{"gpu.nvidia.com", "gpu-vfio-2", kubelet.Device{}, false},
		// Another driver's "gpu-0" is not an NVIDIA GPU.
		{"gpu.amd.com", "gpu-0", kubelet.Device{}, false},
		{"compute-domain.nvidia.com", "channel-0", kubelet.Device{}, false},
		{"", "gpu-0", kubelet.Device{}, false},
	}
	for _, tt := range tests {
		got, ok := kubelet.ParseDRADevice(tt.driver, tt.name)
		if ok != tt.ok || got != tt.want {
			t.Errorf("kubelet.ParseDRADevice(%q, %q) = %+v, %v; want %+v, %v", tt.driver, tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseDeviceID(f *testing.F) {
	for _, s := range []string{"GPU-c2f76b33-7953-256e-8f33-1343419b1a1c::3", "MIG-5c89852c", "nvidia0", "GPU-::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := kubelet.ParseDeviceID(s)
		if !ok {
			return
		}
		if (d.UUID == "") == (d.Minor < 0) {
			t.Fatalf("%q: exactly one of UUID and minor must be set: %+v", s, d)
		}
	})
}

func TestListOverUnixSocket(t *testing.T) {
	resp := &podresourcesv1.ListPodResourcesResponse{PodResources: []*podresourcesv1.PodResources{
		{Name: "train-0", Namespace: "ml", Containers: []*podresourcesv1.ContainerResources{
			{Name: "main", Devices: []*podresourcesv1.ContainerDevices{
				{ResourceName: "nvidia.com/gpu", DeviceIds: []string{"GPU-bbbb", "GPU-aaaa"}},
				{ResourceName: "example.com/nic", DeviceIds: []string{"0000:3b:00.0"}},
			}},
			{Name: "sidecar"},
		}},
		{Name: "infer-1", Namespace: "serve", Containers: []*podresourcesv1.ContainerResources{
			{Name: "server", Devices: []*podresourcesv1.ContainerDevices{
				{ResourceName: "nvidia.com/gpu", DeviceIds: []string{"GPU-cccc::1"}},
				{ResourceName: "nvidia.com/mig-3g.40gb", DeviceIds: []string{"MIG-dddd"}},
			}},
		}},
		{Name: "gke-job", Namespace: "default", Containers: []*podresourcesv1.ContainerResources{
			{Name: "c", Devices: []*podresourcesv1.ContainerDevices{{ResourceName: "nvidia.com/gpu", DeviceIds: []string{"nvidia3"}}}},
		}},
		// GPUs allocated through DRA claims (NVIDIA's DRA driver).
		{Name: "dra-train", Namespace: "ml", Containers: []*podresourcesv1.ContainerResources{
			{Name: "main", DynamicResources: []*podresourcesv1.DynamicResource{
				{ClaimName: "two-gpus", ClaimNamespace: "ml", ClaimResources: []*podresourcesv1.ClaimResource{
					{DriverName: "gpu.nvidia.com", PoolName: "node-1", DeviceName: "gpu-5",
						CdiDevices: []*podresourcesv1.CDIDevice{{Name: "k8s.gpu.nvidia.com/claim=6b0c-gpu-5"}}},
					{DriverName: "gpu.nvidia.com", PoolName: "node-1", DeviceName: "gpu-4"},
					{DriverName: "gpu.nvidia.com", PoolName: "node-1", DeviceName: "gpu-0-mig-1g10gb-19-0"},
				}},
				{ClaimName: "nic", ClaimNamespace: "ml", ClaimResources: []*podresourcesv1.ClaimResource{
					{DriverName: "sriovnetwork.k8snetworkplumbingwg.io", PoolName: "node-1", DeviceName: "gpu-1"},
				}},
			}},
		}},
	}}
	sock := kubelettest.Serve(t, resp)
	c := kubelet.NewClient(sock)
	defer func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}()
	got, err := listWithin(t, c, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []kubelet.Assignment{
		{Namespace: "default", Pod: "gke-job", Container: "c", Resource: "nvidia.com/gpu", Device: kubelet.Device{Minor: 3, Replica: -1}},
		{Namespace: "ml", Pod: "dra-train", Container: "main", Resource: "gpu.nvidia.com", Device: kubelet.Device{Minor: 4, Replica: -1}},
		{Namespace: "ml", Pod: "dra-train", Container: "main", Resource: "gpu.nvidia.com", Device: kubelet.Device{Minor: 5, Replica: -1}},
		{Namespace: "ml", Pod: "train-0", Container: "main", Resource: "nvidia.com/gpu", Device: kubelet.Device{UUID: "GPU-aaaa", Minor: -1, Replica: -1}},
		{Namespace: "ml", Pod: "train-0", Container: "main", Resource: "nvidia.com/gpu", Device: kubelet.Device{UUID: "GPU-bbbb", Minor: -1, Replica: -1}},
		{Namespace: "serve", Pod: "infer-1", Container: "server", Resource: "nvidia.com/gpu", Device: kubelet.Device{UUID: "GPU-cccc", Minor: -1, Replica: 1}},
		{Namespace: "serve", Pod: "infer-1", Container: "server", Resource: "nvidia.com/mig-3g.40gb", Device: kubelet.Device{UUID: "MIG-dddd", Minor: -1, Replica: -1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// The connection is reused.
	if _, err := listWithin(t, c, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestListKubeletDown(t *testing.T) {
	c := kubelet.NewClient(filepath.Join(t.TempDir(), "absent.sock"))
	if _, err := listWithin(t, c, 2*time.Second); err == nil {
		t.Error("want an error when the kubelet is not there")
	}
}
