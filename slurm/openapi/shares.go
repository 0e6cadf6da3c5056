package openapi

import (
	"io"
	"math"
	"slices"

	"jobscope/slurm"
)

// DecodeShares decodes /slurm/v0.0.41+/shares: {"shares":{"shares":[...],
// "total_shares":N}}.
func DecodeShares(rd io.Reader) ([]slurm.Share, Meta, error) {
	var out []slurm.Share
	meta, err := decodeTop(rd, func(r *reader, name []byte) error {
		if string(name) != "shares" {
			return r.skip()
		}
		return r.object(func(name []byte) error {
			if string(name) != "shares" {
				return r.skip()
			}
			return r.array(func() error {
				s, err := r.share()
				if err == nil {
					out = append(out, s)
				}
				return err
			})
		})
	})
	if err != nil {
		return nil, meta, err
	}
	return out, meta, nil
}

// float reads a float that may be a no_val struct: unset is NaN, infinite
// is +Inf (level fairshare of an account with no usage).
func (r *reader) float() (float64, error) {
	n, err := r.num()
	switch {
	case n.infinite:
		return math.Inf(1), err
	case !n.set:
		return math.NaN(), err
	}
	return n.v, err
}

func (r *reader) share() (slurm.Share, error) {
	s := slurm.Share{FairShare: math.NaN(), LevelFS: math.NaN()}
	var name, parent string
	user := false
	err := r.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "name":
			name, err = r.str()
		case "parent":
			parent, err = r.str()
		case "type":
			var t []string
			t, err = r.strs(false)
			if slices.Contains(t, "USER") {
				user = true
			}
		case "shares":
			s.RawShares, err = r.u64()
		case "shares_normalized":
			s.NormShares, err = r.float()
		case "usage":
			s.RawUsage, err = r.float()
		case "effective_usage":
			s.EffectiveUsage, err = r.float()
		case "fairshare":
			err = r.object(func(key []byte) error {
				var err error
				switch string(key) {
				case "factor":
					s.FairShare, err = r.float()
				case "level":
					s.LevelFS, err = r.float()
				default:
					err = r.skip()
				}
				return err
			})
		default:
			err = r.skip()
		}
		return err
	})
	// A user row is named after the user and parented by its account; an
	// account row is named after the account.
	if user {
		s.User, s.Account, s.Parent = name, parent, parent
	} else {
		s.Account, s.Parent = name, parent
	}
	if math.IsNaN(s.NormShares) {
		s.NormShares = 0
	}
	if math.IsNaN(s.EffectiveUsage) {
		s.EffectiveUsage = 0
	}
	if math.IsNaN(s.RawUsage) {
		s.RawUsage = 0
	}
	return s, err
}
