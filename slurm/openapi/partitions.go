package openapi

import (
	"io"
	"strings"

	"jobscope/slurm"
)

// DecodePartitions decodes /slurm/vX/partitions and /slurm/vX/partition/NAME.
//
// v0.0.38 is flat (state, nodes, total_nodes, total_cpus, max_time_limit,
// flags:["default"]); v0.0.40+ groups the same data (partition.state[],
// nodes.{configured,total}, cpus.total, maximums.time).
func DecodePartitions(rd io.Reader) ([]slurm.Partition, Meta, error) {
	var parts []slurm.Partition
	meta, err := decodeTop(rd, func(r *reader, name []byte) error {
		if string(name) != "partitions" {
			return r.skip()
		}
		return r.array(func() error {
			p, err := r.partition()
			if err == nil {
				parts = append(parts, p)
			}
			return err
		})
	})
	if err != nil {
		return nil, meta, err
	}
	return parts, meta, nil
}

func (r *reader) partition() (slurm.Partition, error) {
	var p slurm.Partition
	var states []string
	err := r.object(func(name []byte) error {
		var err error
		switch string(name) {
		case "name":
			p.Name, err = r.str()
		case "state":
			states, err = r.strs(false)
		case "partition":
			err = r.only("state", func() (err error) {
				states, err = r.strs(false)
				return err
			})
		case "nodes":
			if r.peekKind() != '{' {
				p.NodeList, err = r.str()
				break
			}
			err = r.object(func(name []byte) error {
				var err error
				switch string(name) {
				case "configured":
					p.NodeList, err = r.str()
				case "total":
					p.TotalNodes, err = r.u32()
				default:
					err = r.skip()
				}
				return err
			})
		case "total_nodes":
			p.TotalNodes, err = r.u32()
		case "total_cpus":
			p.TotalCPUs, err = r.u32()
		case "cpus":
			err = r.only("total", func() (err error) {
				p.TotalCPUs, err = r.u32()
				return err
			})
		case "max_time_limit":
			// Minutes; -1 (v0.0.37) or INFINITE means unlimited -> 0.
			p.MaxTime, err = r.minutes()
		case "maximums":
			err = r.only("time", func() (err error) {
				p.MaxTime, err = r.minutes()
				return err
			})
		case "flags":
			var flags []string
			flags, err = r.strs(false)
			for _, f := range flags {
				if strings.EqualFold(f, "default") {
					p.Default = true
				}
			}
		default:
			err = r.skip()
		}
		return err
	})
	// DEFAULT is a flag: v0.0.37/38 and v0.0.45 print it in "flags"; the
	// v0.0.42-44 schemas have no place for it (their partition.state enum is
	// INACTIVE/UNKNOWN/UP/DOWN/DRAIN), but a DEFAULT found among the states
	// is taken as the flag rather than as the state.
	for _, s := range states {
		if strings.EqualFold(s, "default") {
			p.Default = true
		} else if p.State == "" {
			p.State = strings.ToUpper(s)
		}
	}
	return p, err
}
