package openapi

import (
	"io"
	"strings"

	"jobscope/slurm"
)

// DecodePing decodes /slurm/vX/ping. Release, cluster and API version come
// from meta; each "pings" element is one slurmctld.
//
// v0.0.38: {"hostname","ping":"UP","status":0,"mode":"primary"}
// v0.0.40+: {"hostname","pinged":"UP","responding":true,"latency":us,
// "mode":"primary","primary":true}
func DecodePing(rd io.Reader) (slurm.Info, Meta, error) {
	var info slurm.Info
	meta, err := decodeTop(rd, func(r *reader, name []byte) error {
		if string(name) != "pings" {
			return r.skip()
		}
		return r.array(func() error {
			c, err := r.controller()
			if err == nil {
				info.Controllers = append(info.Controllers, c)
			}
			return err
		})
	})
	info.Release = meta.Release
	info.Cluster = meta.Cluster
	info.APIVersion = DetectVersion(meta.Plugin)
	return info, meta, err
}

func (r *reader) controller() (slurm.Controller, error) {
	var c slurm.Controller
	var responding, primary *bool
	var ping, mode string
	err := r.object(func(name []byte) error {
		var err error
		switch string(name) {
		case "hostname":
			c.Hostname, err = r.str()
		case "ping", "pinged":
			ping, err = r.str()
		case "mode":
			mode, err = r.str()
		case "responding":
			var b bool
			b, err = r.boolean()
			responding = &b
		case "primary":
			var b bool
			b, err = r.boolean()
			primary = &b
		case "latency":
			c.Latency, err = r.micros()
		default:
			err = r.skip()
		}
		return err
	})
	c.Up = strings.EqualFold(ping, "UP")
	if responding != nil {
		c.Up = *responding
	}
	c.Primary = strings.EqualFold(mode, "primary")
	if primary != nil {
		c.Primary = *primary
	}
	return c, err
}
