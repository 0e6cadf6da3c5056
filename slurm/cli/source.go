package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"jobscope/slurm"
	"jobscope/slurm/openapi"
)

// Options configures a Source; the zero value runs the commands from $PATH.
type Options struct {
	// BinDir holds squeue, sinfo, sdiag, sshare and scontrol; empty means
	// look them up in $PATH.
	BinDir string
	// Timeout bounds each command. Default 60s.
	Timeout time.Duration
	// Env is added to the commands' environment (e.g. "SLURM_CONF=...").
	Env []string
	// Logger; nil discards.
	Logger *slog.Logger
}

// Source implements slurm.Source with the Slurm CLI.
type Source struct {
	opts Options
	log  *slog.Logger
	// sdiagText is set once `sdiag --json` turned out not to exist (Slurm
	// before 23.02), so later polls go straight to the text parser.
	sdiagText atomic.Bool
	// scontrolNoJSON is set once `scontrol --json` turned out not to exist
	// (Slurm before 23.02).
	scontrolNoJSON atomic.Bool
	// notes logs decoder warnings when they change and remembers the
	// cluster name squeue's answer gives.
	notes openapi.MetaNotes
}

// New returns a CLI Source. It runs nothing yet.
func New(opts Options) (*Source, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.BinDir != "" {
		if fi, err := os.Stat(opts.BinDir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("slurm bin dir %q is not a directory", opts.BinDir)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{opts: opts, log: log}, nil
}

// Name implements slurm.Source.
func (s *Source) Name() string { return "cli" }

// CommandError is a Slurm command that failed or whose output could not be
// parsed. Stderr holds the command's last error output.
type CommandError struct {
	Command  string
	ExitCode int // -1 when it did not exit normally (timeout, not found)
	Stderr   string
	Err      error
}

func (e *CommandError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v", e.Command, e.Err)
	if e.ExitCode > 0 {
		fmt.Fprintf(&b, " (exit %d)", e.ExitCode)
	}
	if e.Stderr != "" {
		fmt.Fprintf(&b, ": stderr: %s", e.Stderr)
	}
	return b.String()
}

func (e *CommandError) Unwrap() error { return e.Err }

// run starts name args, hands its stdout as a stream to parse, and waits.
// stderr is kept (last 4 KiB) for the error. The command is killed when the
// timeout passes or parse returns early.
func (s *Source) run(ctx context.Context, parse func(io.Reader) error, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	bin := name
	if s.opts.BinDir != "" {
		bin = filepath.Join(s.opts.BinDir, name)
	}
	cmdline := strings.Join(append([]string{name}, args...), " ")
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), s.opts.Env...)
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return &CommandError{Command: cmdline, ExitCode: -1, Err: err}
	}
	if err := cmd.Start(); err != nil {
		return &CommandError{Command: cmdline, ExitCode: -1, Err: err}
	}
	perr := parse(out)
	// Drain what the parser left so the command can exit by itself. After a
	// parse error it is not killed at once either: its exit status and
	// stderr ("unrecognized option '--json'") say more than the parse
	// error, and the timeout still bounds the wait.
	_, _ = io.Copy(io.Discard, out)
	werr := cmd.Wait()
	ce := &CommandError{Command: cmdline, Stderr: oneLine(stderr.String())}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		ce.ExitCode, ce.Err = -1, fmt.Errorf("timed out after %s: %w", s.opts.Timeout, context.DeadlineExceeded)
	case werr != nil:
		ce.ExitCode = -1
		var xe *exec.ExitError
		if errors.As(werr, &xe) {
			ce.ExitCode = xe.ExitCode()
		}
		ce.Err = werr
	case perr != nil:
		ce.Err = fmt.Errorf("parsing output: %w", perr)
	default:
		return nil
	}
	return ce
}

// Jobs implements slurm.Source (squeue --json).
func (s *Source) Jobs(ctx context.Context) ([]slurm.Job, error) {
	var jobs []slurm.Job
	err := s.run(ctx, func(r io.Reader) error {
		var err error
		var meta openapi.Meta
		jobs, meta, err = openapi.DecodeJobs(r)
		if err == nil {
			s.notes.Note(s.log, "jobs", meta)
		}
		return err
	}, "squeue", "--json")
	return jobs, err
}

// Nodes implements slurm.Source: `scontrol --json show nodes` where it
// exists (23.02+), else `sinfo --json`. scontrol lists every node on its
// own, with the same schema as slurmrestd's /nodes; sinfo --json of 23.02+
// groups nodes that look alike into one entry whose CPU and memory figures
// are the group's, so it is only the fallback (22.05's sinfo --json still
// lists single nodes).
func (s *Source) Nodes(ctx context.Context) ([]slurm.Node, error) {
	var nodes []slurm.Node
	decode := func(r io.Reader) error {
		var err error
		var meta openapi.Meta
		nodes, meta, err = openapi.DecodeNodes(r)
		if err == nil {
			s.notes.Note(s.log, "nodes", meta)
		}
		return err
	}
	if ok, err := s.scontrolJSON(ctx, decode, "nodes"); ok || err != nil {
		return nodes, err
	}
	err := s.run(ctx, decode, "sinfo", "--json")
	return nodes, err
}

// Partitions implements slurm.Source: `scontrol --json show partitions`
// where it exists (23.02+). `sinfo --json` of 22.05 has no partitions and
// its scontrol has no --json, so there it uses sinfo's summarised format,
// which every release prints the same way.
func (s *Source) Partitions(ctx context.Context) ([]slurm.Partition, error) {
	var parts []slurm.Partition
	if ok, err := s.scontrolJSON(ctx, func(r io.Reader) error {
		var err error
		var meta openapi.Meta
		parts, meta, err = openapi.DecodePartitions(r)
		if err == nil {
			s.notes.Note(s.log, "partitions", meta)
		}
		return err
	}, "partitions"); ok || err != nil {
		return parts, err
	}
	err := s.run(ctx, func(r io.Reader) error {
		var err error
		parts, err = ParseSinfoPartitions(r)
		return err
	}, "sinfo", "-h", "-a", "-s", "-o", "%P|%a|%F|%C|%l|%N")
	return parts, err
}

// scontrolJSON runs `scontrol --json show WHAT` unless scontrol is known
// to have no --json; see tryJSON.
func (s *Source) scontrolJSON(ctx context.Context, parse func(io.Reader) error, what string) (ok bool, err error) {
	return s.tryJSON(ctx, &s.scontrolNoJSON,
		"scontrol has no --json (Slurm before 23.02); reading nodes with sinfo --json and partitions with sinfo's summary from now on",
		parse, "scontrol", "--json", "show", what)
}

// tryJSON runs the --json form of a command unless noJSON says the command
// has no such option. ok: parse got its output. err: the command failed for
// another reason (returned to the caller). Neither: the option is missing,
// which is remembered in noJSON and logged once with msg, so the caller's
// fallback is used from then on.
func (s *Source) tryJSON(ctx context.Context, noJSON *atomic.Bool, msg string, parse func(io.Reader) error, name string, args ...string) (ok bool, err error) {
	if noJSON.Load() {
		return false, nil
	}
	err = s.run(ctx, parse, name, args...)
	if err == nil {
		return true, nil
	}
	var ce *CommandError
	if errors.As(err, &ce) && strings.Contains(ce.Stderr, "unrecognized option") {
		if !noJSON.Swap(true) {
			s.log.Info(msg)
		}
		return false, nil
	}
	return false, err
}

// Diag implements slurm.Source: sdiag --json where it exists, else the text.
func (s *Source) Diag(ctx context.Context) (*slurm.Diag, error) {
	var d *slurm.Diag
	if ok, err := s.tryJSON(ctx, &s.sdiagText,
		"sdiag has no --json (Slurm before 23.02); parsing its text output from now on",
		func(r io.Reader) error {
			var err error
			d, _, err = openapi.DecodeDiag(r)
			return err
		}, "sdiag", "--json"); ok || err != nil {
		return d, err
	}
	err := s.run(ctx, func(r io.Reader) error {
		var err error
		d, err = ParseSdiagText(r)
		return err
	}, "sdiag")
	return d, err
}

// Shares implements slurm.Source (sshare -a -l -P). Without slurmdbd sshare
// prints only its header: that is ErrNotSupported, not a failure.
func (s *Source) Shares(ctx context.Context) ([]slurm.Share, error) {
	var sh []slurm.Share
	err := s.run(ctx, func(r io.Reader) error {
		var err error
		sh, err = ParseSshareParsable(r)
		return err
	}, "sshare", "-a", "-l", "-P")
	if err != nil {
		return nil, err
	}
	if len(sh) == 0 {
		return nil, fmt.Errorf("sshare printed no associations (no slurmdbd accounting): %w", slurm.ErrNotSupported)
	}
	return sh, nil
}

// Info implements slurm.Source (scontrol ping, sinfo -V).
func (s *Source) Info(ctx context.Context) (slurm.Info, error) {
	var info slurm.Info
	err := s.run(ctx, func(r io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(r, 4096))
		if err != nil {
			return err
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			return fmt.Errorf("unexpected version output %q", oneLine(string(b)))
		}
		info.Release = f[len(f)-1]
		return nil
	}, "sinfo", "-V")
	if err != nil {
		return info, err
	}
	// scontrol ping exits 1 when a controller is down but still prints the
	// status lines, which are what matters.
	var ctrls []slurm.Controller
	err = s.run(ctx, func(r io.Reader) error {
		var err error
		ctrls, err = ParseScontrolPing(r)
		return err
	}, "scontrol", "ping")
	var ce *CommandError
	if err != nil && errors.As(err, &ce) && ce.ExitCode > 0 && len(ctrls) > 0 {
		err = nil
	}
	info.Controllers = ctrls
	// Neither command names the cluster; squeue's answer does.
	info.Cluster = s.notes.Cluster()
	return info, err
}

// ParseScontrolPing parses "Slurmctld(primary) at vm is UP" lines.
func ParseScontrolPing(r io.Reader) ([]slurm.Controller, error) {
	var out []slurm.Controller
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "Slurmctld(") {
			continue
		}
		mode, rest, ok := strings.Cut(strings.TrimPrefix(line, "Slurmctld("), ")")
		if !ok {
			continue
		}
		f := strings.Fields(rest) // at HOST is UP
		if len(f) < 4 || f[0] != "at" {
			continue
		}
		out = append(out, slurm.Controller{Hostname: f[1], Up: f[len(f)-1] == "UP", Primary: mode == "primary"})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no controller status lines in scontrol ping output")
	}
	return out, nil
}

// ParseSinfoPartitions parses `sinfo -h -a -s -o '%P|%a|%F|%C|%l|%N'`:
// name (default marked '*'), availability, nodes A/I/O/T, CPUs A/I/O/T,
// time limit, node list.
func ParseSinfoPartitions(r io.Reader) ([]slurm.Partition, error) {
	var out []slurm.Partition
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 6 {
			return nil, fmt.Errorf("sinfo line %d: want 6 fields, got %d", n, len(f))
		}
		p := slurm.Partition{Name: f[0], State: strings.ToUpper(f[1]), NodeList: f[5]}
		if strings.HasSuffix(p.Name, "*") {
			p.Name, p.Default = strings.TrimSuffix(p.Name, "*"), true
		}
		nodes, err := lastOfAIOT(f[2])
		if err != nil {
			return nil, fmt.Errorf("sinfo line %d: nodes: %w", n, err)
		}
		cpus, err := lastOfAIOT(f[3])
		if err != nil {
			return nil, fmt.Errorf("sinfo line %d: cpus: %w", n, err)
		}
		p.TotalNodes, p.TotalCPUs = nodes, cpus
		if p.MaxTime, err = ParseSlurmDuration(f[4]); err != nil {
			return nil, fmt.Errorf("sinfo line %d: time limit: %w", n, err)
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

func lastOfAIOT(s string) (uint32, error) {
	f := strings.Split(s, "/")
	if len(f) != 4 {
		return 0, fmt.Errorf("want A/I/O/T, got %q", s)
	}
	v, err := strconv.ParseUint(f[3], 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad total in %q", s)
	}
	return uint32(v), nil
}

// ParseSlurmDuration parses Slurm's time format ("infinite", "UNLIMITED",
// "days-hours:minutes:seconds", "hours:minutes:seconds", "minutes:seconds",
// "minutes"); unlimited is 0.
func ParseSlurmDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "infinite", "unlimited", "n/a", "":
		return 0, nil
	}
	var days int64
	if d, rest, ok := strings.Cut(s, "-"); ok {
		v, err := strconv.ParseInt(d, 10, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("bad days in %q", s)
		}
		days, s = v, rest
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	nums := make([]int64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v < 0 || v > 1<<31 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		nums[i] = v
	}
	var h, m, sec int64
	switch len(nums) {
	case 1: // minutes
		m = nums[0]
		if days > 0 { // "days-hours"
			h, m = nums[0], 0
		}
	case 2:
		if days > 0 { // "days-hours:minutes"
			h, m = nums[0], nums[1]
		} else { // "minutes:seconds"
			m, sec = nums[0], nums[1]
		}
	case 3:
		h, m, sec = nums[0], nums[1], nums[2]
	}
	if days > 1<<20 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return time.Duration(((days*24+h)*60+m)*60+sec) * time.Second, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.TrimSpace(t.b)) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
