package kubelet

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// The part of pod-resources v1 (k8s.io/kubelet/pkg/apis/podresources/v1,
// api.proto) that says which container holds which device. It is decoded
// here with protowire rather than through the generated types because
// importing those links all of gRPC and the protobuf runtime (2.6 MB of
// the node agent's 24 MB binary, ≈ 2 MiB of its resident memory; see
// docs/performance.md). The decoder reads what proto.Unmarshal into the
// generated types reads: FuzzDecodeList holds it to that.
type (
	podResources struct {
		name, namespace string
		containers      []containerResources
	}
	containerResources struct {
		name    string
		devices []containerDevices
		claims  []dynamicResource
	}
	containerDevices struct {
		resourceName string
		deviceIDs    []string
	}
	// dynamicResource is a DRA ResourceClaim the container uses, and the
	// devices allocated to it (ClaimResource).
	dynamicResource struct {
		claimName, claimNamespace string
		devices                   []claimDevice
	}
	claimDevice struct {
		driverName, poolName, deviceName string
	}
)

// Field numbers from api.proto.
const (
	listPodResources = 1 // ListPodResourcesResponse.pod_resources

	podName       = 1 // PodResources.name
	podNamespace  = 2 // PodResources.namespace
	podContainers = 3 // PodResources.containers

	containerName    = 1 // ContainerResources.name
	containerDevice  = 2 // ContainerResources.devices
	containerDynamic = 5 // ContainerResources.dynamic_resources
	devicesResource  = 1 // ContainerDevices.resource_name
	devicesDeviceIDs = 2 // ContainerDevices.device_ids

	dynamicClaimName      = 2 // DynamicResource.claim_name
	dynamicClaimNamespace = 3 // DynamicResource.claim_namespace
	dynamicClaimResources = 4 // DynamicResource.claim_resources
	claimDriverName       = 2 // ClaimResource.driver_name
	claimPoolName         = 3 // ClaimResource.pool_name
	claimDeviceName       = 4 // ClaimResource.device_name
)

// errInvalidUTF8 is proto3's rule for string fields, which
// proto.Unmarshal enforces too.
var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

// decodeList decodes a ListPodResourcesResponse.
func decodeList(b []byte) ([]podResources, error) {
	var pods []podResources
	err := eachField(b, func(num protowire.Number, v []byte) error {
		if num != listPodResources {
			return nil
		}
		p, err := decodePod(v)
		if err != nil {
			return fmt.Errorf("pod_resources: %w", err)
		}
		pods = append(pods, p)
		return nil
	})
	return pods, err
}

func decodePod(b []byte) (p podResources, err error) {
	err = eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case podName:
			return setString(&p.name, v)
		case podNamespace:
			return setString(&p.namespace, v)
		case podContainers:
			c, err := decodeContainer(v)
			if err != nil {
				return fmt.Errorf("containers: %w", err)
			}
			p.containers = append(p.containers, c)
		}
		return nil
	})
	return p, err
}

func decodeContainer(b []byte) (c containerResources, err error) {
	err = eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case containerName:
			return setString(&c.name, v)
		case containerDevice:
			d, err := decodeDevices(v)
			if err != nil {
				return fmt.Errorf("devices: %w", err)
			}
			c.devices = append(c.devices, d)
		case containerDynamic:
			r, err := decodeDynamic(v)
			if err != nil {
				return fmt.Errorf("dynamic_resources: %w", err)
			}
			c.claims = append(c.claims, r)
		}
		return nil
	})
	return c, err
}

func decodeDynamic(b []byte) (r dynamicResource, err error) {
	err = eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case dynamicClaimName:
			return setString(&r.claimName, v)
		case dynamicClaimNamespace:
			return setString(&r.claimNamespace, v)
		case dynamicClaimResources:
			d, err := decodeClaimDevice(v)
			if err != nil {
				return fmt.Errorf("claim_resources: %w", err)
			}
			r.devices = append(r.devices, d)
		}
		return nil
	})
	return r, err
}

func decodeClaimDevice(b []byte) (d claimDevice, err error) {
	err = eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case claimDriverName:
			return setString(&d.driverName, v)
		case claimPoolName:
			return setString(&d.poolName, v)
		case claimDeviceName:
			return setString(&d.deviceName, v)
		}
		return nil
	})
	return d, err
}

func decodeDevices(b []byte) (d containerDevices, err error) {
	err = eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case devicesResource:
			return setString(&d.resourceName, v)
		case devicesDeviceIDs:
			var id string
			if err := setString(&id, v); err != nil {
				return err
			}
			d.deviceIDs = append(d.deviceIDs, id)
		}
		return nil
	})
	return d, err
}

// setString sets a string field; a repeated occurrence replaces the
// earlier one, as proto.Unmarshal does.
func setString(dst *string, v []byte) error {
	if !utf8.Valid(v) {
		return errInvalidUTF8
	}
	*dst = string(v)
	return nil
}

// eachField calls fn with every length-delimited field of the message b
// (all the fields read here are strings or messages) and skips the others.
// A field of a known number but another wire type is, as proto.Unmarshal
// treats it, an unknown field: skipped, not an error.
func eachField(b []byte, fn func(num protowire.Number, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if num > protowire.MaxValidNumber {
			return fmt.Errorf("invalid field number %d", num)
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, v); err != nil {
			return err
		}
	}
	return nil
}
