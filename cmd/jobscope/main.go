// Command jobscope is one binary with one command per role: `slurm` (one per
// cluster), `node` (one per GPU node) and `report` (one job's efficiency,
// read back from Prometheus). main only wires flags to packages; each
// command keeps its own flags, nothing is global. Which commands a build has
// is in commands.go (all) and commands_nodeonly.go (-tags jobscope_nodeonly:
// node alone, bin/jobscope-node; docs/performance.md says why).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
)

// command is one kingpin command: setup registers its flags on the
// application and returns what to run once they are parsed.
type command func(app *kingpin.Application) (name string, run func(ctx context.Context) error)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run parses args and runs the chosen command until ctx is done.
func run(ctx context.Context, args []string) int {
	selected, fn, err := parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %v\n", appName, err)
		return 2
	}
	if err := fn(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "%s %s: %v\n", appName, selected, err)
		// An error may choose its exit code (jobscope report: 1 for a job
		// not found, 2 when no answer could be given).
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			return coded.ExitCode()
		}
		return 1
	}
	return 0
}

// parse registers every command and parses args, refusing bad flag values
// with the flag's name. It returns the selected command and what runs it.
func parse(args []string) (string, func(context.Context) error, error) {
	app := kingpin.New(appName, "Observability for GPU clusters run by Slurm, on bare metal or in Kubernetes.")
	app.Version(version.Print(appName))
	app.HelpFlag.Short('h')
	runs := map[string]func(context.Context) error{}
	for _, c := range commands {
		name, fn := c(app)
		runs[name] = fn
		if name == defaultCommand {
			app.GetCommand(name).Default()
		}
	}
	selected, err := app.Parse(args)
	if err != nil {
		return "", nil, err
	}
	return selected, runs[selected], nil
}

// closeListeners closes what exporter.Flags.Listen bound.
func closeListeners(ls []net.Listener) {
	for _, l := range ls {
		_ = l.Close()
	}
}
