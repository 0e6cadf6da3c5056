package openapi

import (
	"fmt"
	"io"
	"slices"

	"jobscope/slurm"
)

// DecodeNodes decodes /slurm/vX/nodes, /slurm/vX/node/NAME and `sinfo --json`.
// A GRES string that cannot be parsed is left empty with a warning in
// Meta.Warnings, as is an sinfo entry whose hostlist cannot be expanded.
//
// sinfo up to v0.0.38 prints the same "nodes" array as slurmrestd. From
// v0.0.39 it prints "sinfo": one entry per group of nodes sharing a state and
// partition, so a node in two partitions appears twice; those are merged by
// name, keeping the first entry's values and every partition.
func DecodeNodes(rd io.Reader) ([]slurm.Node, Meta, error) {
	var nodes []slurm.Node
	var index map[string]int // sinfo de-duplication
	meta, err := decodeTop(rd, func(r *reader, name []byte) error {
		switch string(name) {
		case "nodes":
			return r.array(func() error {
				n, err := r.node()
				if err != nil {
					return err
				}
				nodes = append(nodes, n)
				return nil
			})
		case "sinfo":
			if index == nil {
				index = map[string]int{}
			}
			return r.array(func() error {
				var err error
				nodes, err = r.sinfoEntry(nodes, index)
				return err
			})
		}
		return r.skip()
	})
	if err != nil {
		return nil, meta, err
	}
	return nodes, meta, nil
}

func (r *reader) node() (slurm.Node, error) {
	var n slurm.Node
	var states []string
	var gres, gresUsed string
	err := r.object(func(name []byte) error {
		var err error
		switch string(name) {
		case "name":
			n.Name, err = r.str()
		case "hostname":
			n.Hostname, err = r.str()
		case "address":
			n.Address, err = r.str()
		case "state":
			// "mixed" (v0.0.37/38) or ["MIXED","DRAIN"] (v0.0.40+).
			var s []string
			s, err = r.strs(false)
			states = append(s, states...)
		case "state_flags":
			var s []string
			s, err = r.strs(false)
			states = append(states, s...)
		case "reason":
			n.Reason, err = r.str()
		case "reason_changed_at":
			n.ReasonTime, err = r.unixTime()
		case "partitions":
			n.Partitions, err = r.strs(true)
		case "features":
			n.Features, err = r.strs(true)
		case "cpus":
			n.CPUs, err = r.u32()
		case "alloc_cpus":
			n.AllocCPUs, err = r.u32()
		case "cpu_load":
			var v number
			v, err = r.num()
			if v.set && !v.infinite {
				n.CPULoad = v.v / 100
			}
		case "real_memory":
			var v uint64
			v, err = r.u64()
			n.RealMemoryBytes = mib(v)
		case "alloc_memory":
			var v uint64
			v, err = r.u64()
			n.AllocMemoryBytes = mib(v)
		case "free_memory", "free_mem":
			var v uint64
			v, err = r.u64()
			n.FreeMemoryBytes = mib(v)
		case "gres":
			gres, err = r.str()
		case "gres_used":
			gresUsed, err = r.str()
		case "slurmd_version", "version":
			n.SlurmdVersion, err = r.str()
		case "boot_time":
			n.BootTime, err = r.unixTime()
		case "last_busy":
			n.LastBusy, err = r.unixTime()
		default:
			err = r.skip()
		}
		return err
	})
	if err != nil {
		return n, err
	}
	n.State, n.Flags = slurm.ParseNodeState(states...)
	r.setGRES(&n, gres, gresUsed)
	return n, nil
}

// setGRES parses a node's GRES strings; one that cannot be parsed is left
// empty with a warning.
func (r *reader) setGRES(n *slurm.Node, gres, used string) {
	var err error
	if n.GRES, err = slurm.ParseGRES(gres); err != nil {
		r.warn("node %s: gres: %v", n.Name, err)
	}
	if n.GRESUsed, err = slurm.ParseGRES(used); err != nil {
		r.warn("node %s: gres_used: %v", n.Name, err)
	}
}

// sinfoEntry reads one element of sinfo's "sinfo" array and appends or
// merges a Node per name it lists.
func (r *reader) sinfoEntry(nodes []slurm.Node, index map[string]int) ([]slurm.Node, error) {
	g, err := r.sinfoGroup()
	if err != nil {
		return nodes, err
	}
	return r.mergeSinfoGroup(nodes, index, g)
}

// sinfoGroup is one element of sinfo's "sinfo" array: the values its nodes
// share, the hostlist expressions naming them, and their partition.
type sinfoGroup struct {
	node      slurm.Node
	hostlists []string
	partition string
}

// sinfoGroup reads one element of the "sinfo" array. Its fields nest one
// level deeper than a node's ("cpus": {"total", "allocated"}, ...).
func (r *reader) sinfoGroup() (sinfoGroup, error) {
	var g sinfoGroup
	n := &g.node
	var states []string
	var gres, gresUsed string
	err := r.object(func(name []byte) error {
		switch string(name) {
		case "node":
			return r.only("state", func() (err error) {
				states, err = r.strs(false)
				return err
			})
		case "nodes":
			return r.only("nodes", func() (err error) {
				g.hostlists, err = r.strs(false)
				return err
			})
		case "cpus":
			return r.sinfoCPUs(n)
		case "memory":
			return r.sinfoMemory(n)
		case "features":
			return r.only("active", func() (err error) {
				n.Features, err = r.strs(true)
				return err
			})
		case "gres":
			return r.object(func(name []byte) error {
				var err error
				switch string(name) {
				case "total":
					gres, err = r.str()
				case "used":
					gresUsed, err = r.str()
				default:
					err = r.skip()
				}
				return err
			})
		case "reason":
			return r.object(func(name []byte) error {
				var err error
				switch string(name) {
				case "description":
					n.Reason, err = r.str()
				case "time":
					n.ReasonTime, err = r.unixTime()
				default:
					err = r.skip()
				}
				return err
			})
		case "partition":
			return r.only("name", func() (err error) {
				g.partition, err = r.str()
				return err
			})
		}
		return r.skip()
	})
	if err != nil {
		return g, err
	}
	n.State, n.Flags = slurm.ParseNodeState(states...)
	r.setGRES(n, gres, gresUsed)
	return g, nil
}

// sinfoCPUs reads a group's "cpus" object; the load is the group's minimum.
func (r *reader) sinfoCPUs(n *slurm.Node) error {
	return r.object(func(name []byte) error {
		var err error
		switch string(name) {
		case "total":
			n.CPUs, err = r.u32()
		case "allocated":
			n.AllocCPUs, err = r.u32()
		case "load":
			err = r.only("minimum", func() error {
				v, err := r.num()
				if v.set && !v.infinite {
					n.CPULoad = v.v / 100
				}
				return err
			})
		default:
			err = r.skip()
		}
		return err
	})
}

// sinfoMemory reads a group's "memory" object (MiB); real and free memory
// are the group's minimum.
func (r *reader) sinfoMemory(n *slurm.Node) error {
	return r.object(func(name []byte) error {
		var err error
		var v uint64
		switch string(name) {
		case "minimum":
			v, err = r.u64()
			n.RealMemoryBytes = mib(v)
		case "allocated":
			v, err = r.u64()
			n.AllocMemoryBytes = mib(v)
		case "free":
			err = r.only("minimum", func() error {
				v, err := r.u64()
				n.FreeMemoryBytes = mib(v)
				return err
			})
		default:
			err = r.skip()
		}
		return err
	})
}

// mergeSinfoGroup appends a Node per host the group names, or, for a host
// already seen in another group (another partition), adds the partition.
func (r *reader) mergeSinfoGroup(nodes []slurm.Node, index map[string]int, g sinfoGroup) ([]slurm.Node, error) {
	for _, expr := range g.hostlists {
		hosts, err := slurm.ExpandHostlist(expr)
		if err != nil {
			// The entry's nodes cannot be named; keep the others.
			r.warn("sinfo: %v", err)
			continue
		}
		for _, h := range hosts {
			if i, ok := index[h]; ok {
				if g.partition != "" && !slices.Contains(nodes[i].Partitions, g.partition) {
					nodes[i].Partitions = append(nodes[i].Partitions, g.partition)
				}
				continue
			}
			m := g.node
			m.Name = h
			m.Flags = append([]string(nil), g.node.Flags...)
			m.Features = append([]string(nil), g.node.Features...)
			if g.partition != "" {
				m.Partitions = []string{g.partition}
			}
			index[h] = len(nodes)
			nodes = append(nodes, m)
			if len(nodes) > slurm.MaxHostlistHosts {
				return nodes, fmt.Errorf("openapi: sinfo lists more than %d nodes", slurm.MaxHostlistHosts)
			}
		}
	}
	return nodes, nil
}
