package collectors

import (
	"fmt"
	"log/slog"
	"sort"

	"jobscope/internal/flagvalue"
)

// Factory builds a collector once flags are parsed. D is whatever the command
// hands its collectors (a snapshot getter, paths, options).
type Factory[D any] func(deps D) (Collector, error)

type entry[D any] struct {
	name    string
	help    string
	enabled *bool
	def     bool
	factory Factory[D]
}

// Set is the registry of one command's collectors. It is built in main, not
// a package-global, so the slurm and node commands each have their own.
type Set[D any] struct {
	entries []*entry[D]
	byName  map[string]*entry[D]
}

// NewSet returns an empty set.
func NewSet[D any]() *Set[D] {
	return &Set[D]{byName: map[string]*entry[D]{}}
}

// Register adds a collector. It panics on a duplicate name: that is a
// programming error caught by any test that builds the set.
func (s *Set[D]) Register(name string, enabledByDefault bool, help string, f Factory[D]) {
	if _, dup := s.byName[name]; dup {
		panic(fmt.Sprintf("collector %q registered twice", name))
	}
	e := &entry[D]{name: name, help: help, def: enabledByDefault, factory: f}
	s.entries = append(s.entries, e)
	s.byName[name] = e
}

// FlagGroup is what both *kingpin.Application and *kingpin.CmdClause offer.
type FlagGroup = flagvalue.Group

// AddFlags adds --collector.NAME (and kingpin's --no-collector.NAME) for
// every registered collector.
func (s *Set[D]) AddFlags(g FlagGroup) {
	for _, e := range s.entries {
		state := "disabled"
		if e.def {
			state = "enabled"
		}
		e.enabled = g.Flag("collector."+e.name, fmt.Sprintf("%s (default: %s).", e.help, state)).
			Default(fmt.Sprint(e.def)).Bool()
	}
}

// Names returns every registered collector name, sorted.
func (s *Set[D]) Names() []string {
	names := make([]string, 0, len(s.entries))
	for _, e := range s.entries {
		names = append(names, e.name)
	}
	sort.Strings(names)
	return names
}

// Enable switches a collector on or off without flags (tests, defaults).
func (s *Set[D]) Enable(name string, on bool) error {
	e, ok := s.byName[name]
	if !ok {
		return fmt.Errorf("unknown collector %q", name)
	}
	e.enabled = &on
	return nil
}

func (e *entry[D]) isEnabled() bool {
	if e.enabled == nil {
		return e.def
	}
	return *e.enabled
}

// Build constructs every enabled collector. A factory error stops start-up:
// it means a flag or path is wrong, which the operator must see at once.
func (s *Set[D]) Build(deps D, logger *slog.Logger) (*Runner, error) {
	r := &Runner{logger: logger, collectors: map[string]Collector{}}
	for _, e := range s.entries {
		if !e.isEnabled() {
			continue
		}
		c, err := e.factory(deps)
		if err != nil {
			return nil, fmt.Errorf("collector %s: %w", e.name, err)
		}
		r.collectors[e.name] = c
		r.names = append(r.names, e.name)
	}
	sort.Strings(r.names)
	logger.Info("enabled collectors", "collectors", r.names)
	return r, nil
}
