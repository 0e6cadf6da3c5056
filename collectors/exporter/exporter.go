package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"jobscope/collectors"
	"jobscope/internal/flagvalue"
)

// Flags are one command's web and logging flags.
type Flags struct {
	Web           *web.FlagConfig
	TelemetryPath *string
	MaxRequests   *int
	// TimeoutOffset is taken off Prometheus' scrape timeout so the answer
	// reaches Prometheus before it gives up.
	TimeoutOffset  *time.Duration
	DefaultTimeout *time.Duration
	Log            *promslog.Config
}

// AddFlags registers the web and logging flags on one command; nothing is
// global, so each command picks its own default port.
func AddFlags(cmd flagvalue.Group, defaultAddress string) *Flags {
	f := &Flags{
		Web: kingpinflag.AddFlags(cmd, defaultAddress),
		TelemetryPath: cmd.Flag("web.telemetry-path", "Path under which to expose metrics.").
			Default("/metrics").String(),
		MaxRequests: flagvalue.NonNegative(cmd.Flag("web.max-requests", "Maximum number of parallel scrape requests. 0 disables the limit.").
			Default("40")),
		TimeoutOffset: flagvalue.DurationOrZero(cmd.Flag("web.timeout-offset", "Taken off the scrape timeout Prometheus sends, so the answer arrives in time.").
			Default("500ms"), time.Millisecond),
		DefaultTimeout: flagvalue.Duration(cmd.Flag("web.scrape-timeout", "Deadline of a scrape whose request names none (X-Prometheus-Scrape-Timeout-Seconds).").
			Default("10s"), 10*time.Millisecond),
		Log: &promslog.Config{},
	}
	// promslog/flag only accepts an *kingpin.Application; these are its
	// two flags, registered on the command instead, their errors naming
	// the flag.
	f.Log.Level = promslog.NewLevel()
	flagvalue.Named(cmd.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").
		Default("info").HintOptions(promslog.LevelFlagOptions...), f.Log.Level)
	f.Log.Format = promslog.NewFormat()
	flagvalue.Named(cmd.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").
		Default("logfmt").HintOptions(promslog.FormatFlagOptions...), f.Log.Format)
	return f
}

// Listen binds the listen addresses (or takes systemd's sockets) and reads
// --web.config.file, so that an address in use or a bad config file is
// reported before the command starts anything else (with the address
// taken, a slurm command that started polling first logged poll-deadline
// warnings and collector errors before the one true line). Pass the
// listeners in Config.Listeners; Serve closes them when it returns.
func (f *Flags) Listen(logger *slog.Logger) ([]net.Listener, error) {
	if path := *f.Web.WebConfigFile; path != "" {
		if err := web.Validate(path); err != nil {
			return nil, fmt.Errorf("--web.config.file=%s: %w", path, err)
		}
	}
	if f.Web.WebSystemdSocket != nil && *f.Web.WebSystemdSocket {
		logger.Info("Listening on systemd activated listeners instead of port listeners.")
		ls, err := activation.Listeners()
		if err != nil {
			return nil, err
		}
		if len(ls) == 0 {
			return nil, errors.New("no socket activation file descriptors found")
		}
		return ls, nil
	}
	if len(*f.Web.WebListenAddresses) == 0 {
		return nil, errors.New("--web.listen-address: no address given")
	}
	var ls []net.Listener
	for _, addr := range *f.Web.WebListenAddresses {
		var l net.Listener
		var err error
		if port, ok := strings.CutPrefix(addr, "vsock://:"); ok {
			var p uint64
			if p, err = strconv.ParseUint(port, 10, 32); err == nil {
				l, err = vsock.Listen(uint32(p), nil)
			}
		} else {
			l, err = net.Listen("tcp", addr)
		}
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("--web.listen-address=%s: %w", addr, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// Logger builds the command's logger from its flags.
func (f *Flags) Logger() *slog.Logger { return promslog.New(f.Log) }

// Server is a ready-to-serve exporter.
type Server struct {
	flags   *Flags
	logger  *slog.Logger
	runner  *collectors.Runner
	static  []prometheus.Collector
	ready   func() error
	handler http.Handler
	// listeners are bound already (Flags.Listen), or nil.
	listeners []net.Listener
}

// Config describes what a Server serves.
type Config struct {
	// Name is the command, e.g. "jobscope slurm".
	Name        string
	Description string
	Runner      *collectors.Runner
	// Static collectors are registered once and served on every scrape
	// (build info, Go runtime, process).
	Static []prometheus.Collector
	// Ready reports whether the exporter has data to serve (/-/ready).
	Ready func() error
	// Listeners are those Flags.Listen bound; nil: Serve binds them.
	Listeners []net.Listener
}

// New builds the HTTP handler tree.
func New(flags *Flags, logger *slog.Logger, cfg Config) (*Server, error) {
	s := &Server{flags: flags, logger: logger, runner: cfg.Runner, ready: cfg.Ready, listeners: cfg.Listeners}
	s.static = append([]prometheus.Collector{versioncollector.NewCollector(collectors.Namespace)}, cfg.Static...)

	mux := http.NewServeMux()
	mux.Handle(*flags.TelemetryPath, s.metricsHandler())
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if s.ready != nil {
			if err := s.ready(); err != nil {
				http.Error(w, "Not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "Ready")
	})
	if *flags.TelemetryPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        cfg.Name,
			Description: cfg.Description,
			Version:     version.Info(),
			Links: []web.LandingLinks{
				{Address: *flags.TelemetryPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health"},
				{Address: "/-/ready", Text: "Readiness"},
			},
		})
		if err != nil {
			return nil, fmt.Errorf("landing page: %w", err)
		}
		mux.Handle("/", landing)
	}
	s.handler = mux
	return s, nil
}

// Handler is the whole HTTP tree (for tests).
func (s *Server) Handler() http.Handler { return s.handler }

// metricsHandler gathers per scrape: the scrape's collectors get the
// deadline Prometheus sent, and collect[]=NAME / exclude[]=NAME narrow a
// scrape to some collectors (as node_exporter's collect[] does). The
// Runner's Gatherer serves ready-built families of FamilySetCollectors as they
// are (the slurm collectors build theirs once per poll), and the cached
// encoding of FamilySets (Page): only the small part gathered afresh is
// encoded per scrape. The format and compression are negotiated as
// promhttp does; a request with promhttp's name[] filter goes through
// promhttp.
func (s *Server) metricsHandler() http.Handler {
	errorLog := slog.NewLogLogger(s.logger.Handler(), slog.LevelError)
	opts := promhttp.HandlerOpts{
		ErrorLog:      errorLog,
		ErrorHandling: promhttp.ContinueOnError,
	}
	// The in-flight limit is kept here: promhttp's MaxRequestsInFlight
	// counts per handler, and the handler is made per request.
	var inFlight chan struct{}
	if n := *s.flags.MaxRequests; n > 0 {
		inFlight = make(chan struct{}, n)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if inFlight != nil {
			select {
			case inFlight <- struct{}{}:
				defer func() { <-inFlight }()
			default:
				http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", cap(inFlight)),
					http.StatusServiceUnavailable)
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.scrapeTimeout(r))
		defer cancel()

		names, err := s.selectCollectors(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		gatherer, err := s.runner.Gatherer(ctx, s.static, names...)
		if errors.Is(err, collectors.ErrUnknownCollector) {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if r.URL.Query().Has("name[]") {
			promhttp.HandlerFor(gatherer, opts).ServeHTTP(w, r)
			return
		}
		page, err := gatherer.GatherPage()
		if err != nil {
			// promhttp.ContinueOnError: serve what was gathered.
			errorLog.Println("error gathering metrics:", err)
			if page.Empty() {
				http.Error(w, "An error has occurred while serving metrics:\n\n"+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...)
		w.Header().Add("Vary", "Accept")
		w.Header().Add("Vary", "Accept-Encoding")
		w.Header().Set("Content-Type", string(format))
		gz := acceptsGzip(r.Header)
		if gz {
			w.Header().Set("Content-Encoding", "gzip")
		}
		if err := page.Write(w, format, gz); err != nil {
			errorLog.Println("error encoding and sending metric family:", err)
		}
	})
}

// acceptsGzip negotiates the compression as promhttp does (identity
// preferred over gzip on equal quality): gzip when Accept-Encoding gives it,
// or "*", a higher quality than identity.
func acceptsGzip(h http.Header) bool {
	identity, gz := -1.0, -1.0
	for _, v := range h.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			if coding == "identity" || coding == "*" {
				identity = max(identity, q)
			}
			if coding == "gzip" || coding == "*" {
				gz = max(gz, q)
			}
		}
	}
	return gz > 0 && gz > identity
}

// maxTimeoutSeconds is the longest scrape timeout a time.Duration holds,
// in whole seconds.
const maxTimeoutSeconds = float64(math.MaxInt64 / int64(time.Second))

// scrapeTimeout is a scrape's deadline: the timeout Prometheus sends less
// the offset, or the default when the request names none that is usable.
func (s *Server) scrapeTimeout(r *http.Request) time.Duration {
	timeout := *s.flags.DefaultTimeout
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		// A value no time.Duration holds (+Inf, 1e300) converted to the
		// most negative one: a deadline already past. NaN fails both.
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 && secs < maxTimeoutSeconds {
			timeout = time.Duration(secs * float64(time.Second))
			if timeout > *s.flags.TimeoutOffset {
				timeout -= *s.flags.TimeoutOffset
			}
		}
	}
	return timeout
}

func (s *Server) selectCollectors(r *http.Request) ([]string, error) {
	q := r.URL.Query()
	collect, exclude := q["collect[]"], q["exclude[]"]
	if len(collect) > 0 && len(exclude) > 0 {
		return nil, errors.New("collect[] and exclude[] exclude each other")
	}
	if len(exclude) == 0 {
		return collect, nil
	}
	skip := map[string]bool{}
	for _, n := range exclude {
		skip[n] = true
	}
	var names []string
	for _, n := range s.runner.Names() {
		if !skip[n] {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, errors.New("exclude[] leaves no collector")
	}
	return names, nil
}

// Serve listens until ctx is cancelled, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() {
		if s.listeners != nil {
			errc <- web.ServeMultiple(s.listeners, srv, s.flags.Web, s.logger)
			return
		}
		errc <- web.ListenAndServe(srv, s.flags.Web, s.logger)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			return err
		}
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
