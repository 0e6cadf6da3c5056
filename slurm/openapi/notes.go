package openapi

import (
	"log/slog"
	"strings"
	"sync"
)

// MetaNotes keeps what response metadata tells beyond one request, for a
// source that reads many responses: the cluster name (v0.0.37/38's ping has
// none; jobs' meta does), and the warnings of each resource (a GRES string
// jobscope could not read, Slurm's own warnings), logged when they change
// rather than on every poll. The zero value is ready to use.
type MetaNotes struct {
	mu       sync.Mutex
	name     string
	warnings map[string]string
}

// Note records meta of one response for resource, logging its warnings at
// warn level when they differ from the previous response's.
func (n *MetaNotes) Note(log *slog.Logger, resource string, meta Meta) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if meta.Cluster != "" {
		n.name = meta.Cluster
	}
	if n.warnings == nil {
		n.warnings = map[string]string{}
	}
	text := strings.Join(meta.Warnings, "; ")
	if text != n.warnings[resource] && text != "" && log != nil {
		log.Warn("slurm answer partly unreadable; kept the rest", "resource", resource, "warnings", text)
	}
	n.warnings[resource] = text
}

// Cluster is the last cluster name seen, "" when none yet.
func (n *MetaNotes) Cluster() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.name
}
