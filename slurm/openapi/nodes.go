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
	var n slurm.Node
	var names []string
	var states []string
	var gres, gresUsed, partition string
	err := r.object(func(name []byte) error {
		switch string(name) {
		case "node":
			return r.object(func(name []byte) error {
				if string(name) == "state" {
					s, err := r.strs(false)
					states = s
					return err
				}
				return r.skip()
			})
		case "nodes":
			return r.object(func(name []byte) error {
				if string(name) == "nodes" {
					s, err := r.strs(false)
					names = s
					return err
				}
				return r.skip()
			})
		case "cpus":
			return r.object(func(name []byte) error {
				var err error
				switch string(name) {
				case "total":
					n.CPUs, err = r.u32()
				case "allocated":
					n.AllocCPUs, err = r.u32()
				case "load":
					err = r.object(func(name []byte) error {
						if string(name) == "minimum" {
							v, err := r.num()
							if v.set && !v.infinite {
								n.CPULoad = v.v / 100
							}
							return err
						}
						return r.skip()
					})
				default:
					err = r.skip()
				}
				return err
			})
		case "memory":
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
					err = r.object(func(name []byte) error {
						if string(name) == "minimum" {
							v, err := r.u64()
							n.FreeMemoryBytes = mib(v)
							return err
						}
						return r.skip()
					})
				default:
					err = r.skip()
				}
				return err
			})
		case "features":
			return r.object(func(name []byte) error {
				if string(name) == "active" {
					s, err := r.strs(true)
					n.Features = s
					return err
				}
				return r.skip()
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
			return r.object(func(name []byte) error {
				if string(name) == "name" {
					s, err := r.str()
					partition = s
					return err
				}
				return r.skip()
			})
		}
		return r.skip()
	})
	if err != nil {
		return nodes, err
	}
	n.State, n.Flags = slurm.ParseNodeState(states...)
	r.setGRES(&n, gres, gresUsed)
	for _, expr := range names {
		hosts, err := slurm.ExpandHostlist(expr)
		if err != nil {
			// The entry's nodes cannot be named; keep the others.
			r.warn("sinfo: %v", err)
			continue
		}
		for _, h := range hosts {
			if i, ok := index[h]; ok {
				if partition != "" && !slices.Contains(nodes[i].Partitions, partition) {
					nodes[i].Partitions = append(nodes[i].Partitions, partition)
				}
				continue
			}
			m := n
			m.Name = h
			m.Flags = append([]string(nil), n.Flags...)
			m.Features = append([]string(nil), n.Features...)
			if partition != "" {
				m.Partitions = []string{partition}
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
