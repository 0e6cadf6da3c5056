package flagvalue

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"
)

// Group is what both *kingpin.Application and *kingpin.CmdClause offer.
type Group interface {
	Flag(name, help string) *kingpin.FlagClause
}

// named prefixes a value's Set error with its flag's name.
type named struct {
	name string
	kingpin.Value
}

func (n named) Set(s string) error {
	if err := n.Value.Set(s); err != nil {
		return fmt.Errorf("--%s: %w", n.name, err)
	}
	return nil
}

// Named makes f parse into v, reporting v's errors with f's name.
func Named(f *kingpin.FlagClause, v kingpin.Value) {
	f.SetValue(named{f.Model().Name, v})
}

// durationValue is a time.Duration no shorter than min; 0 is accepted too
// when zero says what it means.
type durationValue struct {
	d    *time.Duration
	min  time.Duration
	zero bool
	// long also accepts Prometheus's days, weeks and years (30d, 2w).
	long bool
}

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil && v.long {
		var md model.Duration
		if md, err = model.ParseDuration(s); err != nil {
			return fmt.Errorf("%q: want a duration such as 30d, 2w or 12h", s)
		}
		d = time.Duration(md)
	}
	if err != nil {
		return err
	}
	switch {
	case d == 0 && v.zero:
	case d <= 0:
		return fmt.Errorf("%s: must be positive", s)
	case d < v.min:
		return fmt.Errorf("%s: must be at least %s", s, v.min)
	}
	*v.d = d
	return nil
}

func (v *durationValue) String() string { return v.d.String() }

// Duration parses f as a positive duration of at least min.
func Duration(f *kingpin.FlagClause, min time.Duration) *time.Duration {
	d := new(time.Duration)
	Named(f, &durationValue{d: d, min: max(min, 1)})
	return d
}

// LongDuration is Duration that also takes Prometheus's units d, w and y
// ("30d", "2w"), for spans of time people count in days.
func LongDuration(f *kingpin.FlagClause, min time.Duration) *time.Duration {
	d := new(time.Duration)
	Named(f, &durationValue{d: d, min: max(min, 1), long: true})
	return d
}

// DurationOrZero is Duration that also accepts 0, for flags where 0 has a
// meaning its help states (no limit, a default derived from another flag).
func DurationOrZero(f *kingpin.FlagClause, min time.Duration) *time.Duration {
	d := new(time.Duration)
	Named(f, &durationValue{d: d, min: max(min, 1), zero: true})
	return d
}

// enumValue is one of a fixed set of words.
type enumValue struct {
	s       *string
	options []string
}

func (v *enumValue) Set(s string) error {
	if !slices.Contains(v.options, s) {
		return fmt.Errorf("%q is not one of %s", s, strings.Join(v.options, ", "))
	}
	*v.s = s
	return nil
}

func (v *enumValue) String() string { return *v.s }

// Enum parses f as one of options.
func Enum(f *kingpin.FlagClause, options ...string) *string {
	s := new(string)
	Named(f.HintOptions(options...), &enumValue{s: s, options: options})
	return s
}

// Positive parses f as an integer above 0.
func Positive(f *kingpin.FlagClause) *int {
	n := new(int)
	Named(f, &intValue{n: n, min: 1})
	return n
}

// NonNegative parses f as an integer of at least 0.
func NonNegative(f *kingpin.FlagClause) *int {
	n := new(int)
	Named(f, &intValue{n: n, min: 0})
	return n
}

type intValue struct {
	n   *int
	min int
}

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	if n < v.min {
		return fmt.Errorf("%d: must be at least %d", n, v.min)
	}
	*v.n = n
	return nil
}

func (v *intValue) String() string { return fmt.Sprint(*v.n) }

// urlValue is an absolute http:// or https:// URL with a host.
type urlValue struct{ s *string }

func (v *urlValue) Set(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: want an http:// or https:// URL with a host", redacted(s, u, err))
	}
	*v.s = s
	return nil
}

func (v *urlValue) String() string { return *v.s }

// redacted quotes s for a message without the password it may carry: the
// message goes to logs and terminals.
func redacted(s string, u *url.URL, err error) string {
	switch {
	case err == nil && u.User != nil:
		return strconv.Quote(u.Redacted())
	case err != nil && strings.Contains(s, "@"):
		return "the URL (credentials hidden)"
	}
	return strconv.Quote(s)
}

// HTTPURL parses f as an http:// or https:// URL with a host: a URL that
// cannot work is refused at start, while a server that is down at that URL
// is the reader's to retry.
func HTTPURL(f *kingpin.FlagClause) *string {
	s := new(string)
	Named(f, &urlValue{s: s})
	return s
}
