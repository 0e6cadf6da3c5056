package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/config"

	"jobscope/slurm"
	"jobscope/slurm/openapi"
)

// Options configures a Client. Only URL is required.
type Options struct {
	// URL is http://host:port, https://host:port or unix:///path/to.sock.
	URL string
	// TokenFile holds the JWT sent as X-SLURM-USER-TOKEN; it is re-read
	// when it changes. Empty: no token (rest_auth/local on a unix socket).
	TokenFile string
	// UserName, when set, is sent as X-SLURM-USER-NAME (needed by tokens
	// made for SlurmUser/root acting for another user; optional otherwise).
	UserName string
	// TLS configures https: CAFile, CertFile/KeyFile, InsecureSkipVerify,
	// ServerName. Files are re-read by prometheus/common as they change.
	TLS config.TLSConfig
	// Timeout bounds each request including reading its body. Default 60s.
	Timeout time.Duration
	// Version forces an API version ("v0.0.38"); empty negotiates.
	Version string
	// MaxBodyBytes bounds a response body. Default 8 GiB: 100k running
	// jobs are ~1.7 GB in v0.0.40+, and the limit is only there to stop a
	// runaway server.
	MaxBodyBytes int64
	// DisableUpdateTime stops sending update_time (always fetch everything).
	DisableUpdateTime bool
	// UpdateTimeSlack is subtracted from the time of the previous fetch
	// before it is sent as update_time: it covers clock skew between this
	// host and slurmctld and changes within the same second. Default 5s.
	UpdateTimeSlack time.Duration
	// Logger for negotiation and token events; nil discards.
	Logger *slog.Logger
}

// Client implements slurm.Source over slurmrestd. It is safe for concurrent
// use. Each method performs at most one request, plus negotiation (GET
// /openapi/v3) when the server is not known yet or has changed, and then one
// retry. The server counts as changed when a path its OpenAPI document
// listed answers 404, or when it reports another Slurm release; a 404 of a
// path already found missing after a fresh negotiation does not count again,
// so a poll costs one request per resource whatever the server does. A
// resource the version or the document does not offer is not asked for
// (slurm.ErrNotSupported, no request).
type Client struct {
	base    *url.URL // scheme+host (unix sockets use a placeholder host)
	http    *http.Client
	token   *tokenFile
	user    string
	opts    Options
	log     *slog.Logger
	forced  *apiVersion
	display string // URL for errors and logs

	// verMu guards srv and the remembered negotiation failure: a
	// failed negotiation is answered again to the calls of the same poll
	// (within negotiateHold) instead of being repeated by each.
	verMu  sync.Mutex
	srv    *server
	negErr error
	negAt  time.Time
	now    func() time.Time // time.Now; tests move it

	noted openapi.MetaNotes

	jobs       cached[[]slurm.Job]
	nodes      cached[[]slurm.Node]
	partitions cached[[]slurm.Partition]
}

// cached is the last full answer for one resource, reused when slurmrestd
// says nothing changed since.
type cached[T any] struct {
	mu      sync.Mutex
	version string
	since   time.Time // local time the data was known valid (request start)
	val     T
	have    bool
}

func (c *cached[T]) updateTime(v apiVersion, slack time.Duration) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.have || c.version != v.name {
		return 0, false
	}
	return c.since.Add(-slack).Unix(), true
}

func (c *cached[T]) store(v apiVersion, since time.Time, val T) {
	c.mu.Lock()
	c.version, c.since, c.val, c.have = v.name, since, val, true
	c.mu.Unlock()
}

func (c *cached[T]) unchanged(v apiVersion, since time.Time) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.have || c.version != v.name {
		var zero T
		return zero, false
	}
	c.since = since
	return c.val, true
}

// New validates opts and returns a Client. It makes no request: the version
// is negotiated on first use, so jobscope starts even while slurmrestd is
// down.
func New(opts Options) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 8 << 30
	}
	if opts.UpdateTimeSlack <= 0 {
		opts.UpdateTimeSlack = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("slurmrestd URL %q: %w", opts.URL, err)
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		// slurmrestd does not compress; asking for gzip would only add a
		// proxy-side surprise.
		DisableCompression:    true,
		ResponseHeaderTimeout: opts.Timeout,
	}
	c := &Client{opts: opts, log: log, user: opts.UserName, now: time.Now}
	switch u.Scheme {
	case "http", "https":
		tr.DialContext = dialTCP
		if u.Host == "" {
			return nil, fmt.Errorf("slurmrestd URL %q has no host", opts.URL)
		}
		tlsCfg, err := config.NewTLSConfig(&opts.TLS)
		if err != nil {
			return nil, fmt.Errorf("slurmrestd TLS config: %w", err)
		}
		tr.TLSClientConfig = tlsCfg
		c.base = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/")}
		c.display = c.base.String()
	case "unix":
		sock := u.Path
		if sock == "" {
			sock = u.Opaque // unix:/path.sock
		}
		if sock == "" {
			return nil, fmt.Errorf("slurmrestd URL %q has no socket path", opts.URL)
		}
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
		c.base = &url.URL{Scheme: "http", Host: "slurmrestd"}
		c.display = "unix://" + sock
	default:
		return nil, fmt.Errorf("slurmrestd URL %q: scheme must be http, https or unix", opts.URL)
	}
	c.http = &http.Client{
		Transport: tr,
		// slurmrestd does not redirect; following one could send the
		// token somewhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if opts.TokenFile != "" {
		c.token = &tokenFile{path: opts.TokenFile}
	}
	if opts.Version != "" {
		v, err := parseVersion(opts.Version)
		if err != nil {
			return nil, err
		}
		c.forced = &v
	}
	return c, nil
}

// receiveWindow is how far a new TCP connection's receive buffer is raised
// before its first request: as much as the jobs decoder reads at once
// (openapi's maxRead), so a large body is not read in small pieces while
// autotuning fails to grow the buffer (see growReceiveBuffer).
const receiveWindow = 4 << 20

// dialTCP dials slurmrestd (or the proxy) and raises the connection's
// receive buffer.
func dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if err := growReceiveBuffer(conn, receiveWindow); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
}

// Name implements slurm.Source.
func (c *Client) Name() string { return "rest" }

// APIVersion returns the negotiated version, "" before the first request.
func (c *Client) APIVersion() string {
	if c.forced != nil {
		return c.forced.name
	}
	c.verMu.Lock()
	defer c.verMu.Unlock()
	if c.srv == nil {
		return ""
	}
	return c.srv.v.name
}

// Info implements slurm.Source (GET ping).
func (c *Client) Info(ctx context.Context) (slurm.Info, error) {
	var info slurm.Info
	err := c.fetch(ctx, "ping", func(v apiVersion) (string, url.Values, error) {
		return v.path("ping"), nil, nil
	}, func(s *server, _ time.Time, status int, body io.Reader) error {
		i, meta, err := openapi.DecodePing(body)
		if err != nil {
			return err
		}
		if meta.Release == "" && meta.Plugin == "" {
			// Every slurmrestd answer carries meta; a JSON answer
			// without it is some other service at this URL.
			return notSlurm("without Slurm's meta")
		}
		c.noteRelease(s, meta.Release)
		v := s.v
		if i.Cluster == "" {
			// v0.0.37/38 ping names no cluster; jobs' meta does.
			i.Cluster = c.noted.Cluster()
		}
		i.APIVersion = v.name
		info = i
		return nil
	})
	return info, err
}

// Jobs implements slurm.Source.
func (c *Client) Jobs(ctx context.Context) ([]slurm.Job, error) {
	// The previous answer's count sizes the new one: 100k jobs are then
	// decoded into one slice allocated once (see openapi.DecodeJobsSized).
	c.jobs.mu.Lock()
	expect := len(c.jobs.val)
	c.jobs.mu.Unlock()
	return fetchCached(c, ctx, "jobs", &c.jobs, func(r io.Reader) ([]slurm.Job, openapi.Meta, error) {
		return openapi.DecodeJobsSized(r, expect)
	})
}

// Nodes implements slurm.Source.
func (c *Client) Nodes(ctx context.Context) ([]slurm.Node, error) {
	return fetchCached(c, ctx, "nodes", &c.nodes, openapi.DecodeNodes)
}

// Partitions implements slurm.Source.
func (c *Client) Partitions(ctx context.Context) ([]slurm.Partition, error) {
	return fetchCached(c, ctx, "partitions", &c.partitions, openapi.DecodePartitions)
}

// Diag implements slurm.Source.
func (c *Client) Diag(ctx context.Context) (*slurm.Diag, error) {
	var d *slurm.Diag
	err := c.fetch(ctx, "diag", func(v apiVersion) (string, url.Values, error) {
		return v.path("diag"), nil, nil
	}, func(s *server, _ time.Time, _ int, body io.Reader) error {
		var meta openapi.Meta
		var err error
		d, meta, err = openapi.DecodeDiag(body)
		c.noteRelease(s, meta.Release)
		return err
	})
	return d, err
}

// Shares implements slurm.Source; ErrNotSupported before v0.0.41.
func (c *Client) Shares(ctx context.Context) ([]slurm.Share, error) {
	var sh []slurm.Share
	err := c.fetch(ctx, "shares", func(v apiVersion) (string, url.Values, error) {
		if !v.hasShares() {
			return "", nil, fmt.Errorf("slurmrestd %s has no shares endpoint (needs v0.0.41+, Slurm 24.05): %w", v.name, slurm.ErrNotSupported)
		}
		return v.path("shares"), nil, nil
	}, func(s *server, _ time.Time, _ int, body io.Reader) error {
		var meta openapi.Meta
		var err error
		sh, meta, err = openapi.DecodeShares(body)
		c.noteRelease(s, meta.Release)
		return err
	})
	return sh, err
}

// fetchCached fetches a resource that takes update_time, returning the
// cached value when slurmrestd answers 304 Not Modified.
func fetchCached[T any](c *Client, ctx context.Context, resource string, cache *cached[[]T], decode func(io.Reader) ([]T, openapi.Meta, error)) ([]T, error) {
	var out []T
	err := c.fetch(ctx, resource, func(v apiVersion) (string, url.Values, error) {
		var q url.Values
		if !c.opts.DisableUpdateTime && v.sendsUpdateTime(resource) {
			if t, ok := cache.updateTime(v, c.opts.UpdateTimeSlack); ok {
				q = url.Values{"update_time": {strconv.FormatInt(t, 10)}}
			}
		}
		return v.path(resource), q, nil
	}, func(s *server, start time.Time, status int, body io.Reader) error {
		v := s.v
		if status == http.StatusNotModified {
			val, ok := cache.unchanged(v, start)
			if !ok {
				return errors.New("304 Not Modified without a previous result")
			}
			c.log.Debug("slurmrestd: unchanged since update_time, reusing previous result", "resource", resource, "version", v.name)
			out = val
			return nil
		}
		val, meta, err := decode(body)
		if err != nil {
			return err
		}
		c.noted.Note(c.log, resource, meta)
		c.noteRelease(s, meta.Release)
		cache.store(v, start, val)
		out = val
		return nil
	})
	return out, err
}

// server is what one negotiation learned about slurmrestd. It is replaced as
// a whole when the server changes; the pointer is its identity, so of
// several calls that see the same change only the first negotiates again.
type server struct {
	v   apiVersion
	via string
	// listed is the set of resources the OpenAPI document lists under
	// /slurm/<v>/; nil when no document was read (forced version, ping
	// probe).
	listed map[string]bool

	mu sync.Mutex
	// release is the Slurm release first reported since negotiation.
	release string
	// missing holds resources that answered 404 although offered, and
	// again after negotiating anew: a server whose document lists a path
	// it does not serve. Their next 404 is an error, not a change.
	missing map[string]bool
}

// optionalResources are the resources a slurmrestd of a supported version
// may lack: they are asked for only where the OpenAPI document lists them.
// The others (ping, jobs, nodes, partitions, diag) exist in every version
// from v0.0.37 and are always asked for.
var optionalResources = map[string]bool{"shares": true}

// offers reports whether the resource is asked for at all.
func (s *server) offers(resource string) bool {
	if !optionalResources[resource] || s.listed == nil {
		return true
	}
	return s.listed[resource]
}

// changedOn404 reports whether a 404 for resource means the server changed
// (and the version must be negotiated again): the document listed it, or
// it is a resource every version has, and it was not found missing before.
func (s *server) changedOn404(resource string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.missing[resource] {
		return false
	}
	return !optionalResources[resource] || s.listed[resource]
}

func (s *server) markMissing(resource string) {
	s.mu.Lock()
	if s.missing == nil {
		s.missing = map[string]bool{}
	}
	s.missing[resource] = true
	s.mu.Unlock()
}

// negotiateHold is how long a failed negotiation is answered from memory:
// long enough to cover the calls of one poll, which all start together,
// short enough for the next poll to try again.
const negotiateHold = 2 * time.Second

// fetch runs one request for resource with the current API version. After a
// 404 that means the server changed (see server.changedOn404) it negotiates
// again and retries once.
func (c *Client) fetch(ctx context.Context, resource string,
	build func(apiVersion) (string, url.Values, error),
	handle func(s *server, start time.Time, status int, body io.Reader) error,
) error {
	for attempt := 0; ; attempt++ {
		s, err := c.server(ctx)
		if err != nil {
			return err
		}
		path, q, err := build(s.v)
		if err != nil {
			return err // e.g. shares before v0.0.41, which says so
		}
		if !s.offers(resource) {
			return fmt.Errorf("slurmrestd at %s does not list %s in its OpenAPI document: %w", c.display, s.v.path(resource), slurm.ErrNotSupported)
		}
		err = c.do(ctx, resource, path, q, func(start time.Time, status int, body io.Reader) error {
			return handle(s, start, status, body)
		})
		if c.forced != nil || !errors.Is(err, ErrNotFound) {
			return err
		}
		if attempt == 0 && s.changedOn404(resource) {
			c.log.Warn("slurmrestd answered 404 for a path it served; negotiating the API version again", "resource", resource, "path", path, "version", s.v.name)
			c.resetServer(s)
			continue
		}
		// Found missing after a fresh negotiation, or an optional
		// resource no document vouched for: do not negotiate for it
		// again.
		s.markMissing(resource)
		if optionalResources[resource] && s.listed == nil {
			return fmt.Errorf("slurmrestd %s has no %s endpoint: %w: %w", s.v.name, resource, slurm.ErrNotSupported, err)
		}
		return err
	}
}

// server returns what is known of the server, negotiating when nothing is.
// Negotiation holds verMu so that concurrent first calls negotiate once.
func (c *Client) server(ctx context.Context) (*server, error) {
	if c.forced != nil {
		return &server{v: *c.forced, via: "forced"}, nil
	}
	c.verMu.Lock()
	defer c.verMu.Unlock()
	if c.srv != nil {
		return c.srv, nil
	}
	if c.negErr != nil && c.now().Sub(c.negAt) < negotiateHold {
		return nil, c.negErr
	}
	s, err := c.negotiate(ctx)
	if err != nil {
		c.negErr, c.negAt = err, c.now()
		return nil, err
	}
	c.negErr = nil
	c.log.Info("slurmrestd API version negotiated", "url", c.display, "version", s.v.name, "via", s.via)
	c.srv = s
	return s, nil
}

// version is the API version to use, negotiating it when unknown.
func (c *Client) version(ctx context.Context) (apiVersion, error) {
	s, err := c.server(ctx)
	if err != nil {
		return apiVersion{}, err
	}
	return s.v, nil
}

// resetServer forgets old, so that the next call negotiates again; a no-op
// when another call did so already.
func (c *Client) resetServer(old *server) {
	c.verMu.Lock()
	if c.srv == old {
		c.srv = nil
		c.negErr = nil
	}
	c.verMu.Unlock()
}

// noteRelease records the Slurm release an answer reported; another release
// than the first one seen means slurmrestd was upgraded (or replaced), and
// the next call negotiates again: the new one may serve newer versions.
func (c *Client) noteRelease(s *server, release string) {
	if release == "" || c.forced != nil {
		return
	}
	s.mu.Lock()
	old := s.release
	if old == "" {
		s.release = release
	}
	s.mu.Unlock()
	if old != "" && old != release {
		c.log.Info("slurmrestd reports another Slurm release; negotiating the API version again", "was", old, "now", release)
		c.resetServer(s)
	}
}

// notSlurmError is a handler's verdict that a well-formed answer did not
// come from slurmrestd; do turns it into an *Error of kind ErrNotSlurmrestd.
type notSlurmError struct{ why string }

func (e *notSlurmError) Error() string { return e.why }

func notSlurm(why string) error { return &notSlurmError{why: why} }

// negotiate picks the newest supported version the server serves from its
// OpenAPI document, or, where no document is served (404 on /openapi/v3 and
// /openapi), by probing ping newest-first. Any other failure ends it at
// once: a server that is down, refuses the token or is not slurmrestd
// costs one request.
func (c *Client) negotiate(ctx context.Context) (*server, error) {
	var specErr error
	for _, p := range []string{"/openapi/v3", "/openapi"} {
		var found map[int]map[string]bool
		err := c.do(ctx, "negotiate", p, nil, func(_ time.Time, status int, body io.Reader) error {
			if status != http.StatusOK {
				return fmt.Errorf("unexpected HTTP %d", status)
			}
			var err error
			found, err = scanSpec(body)
			if err == nil && len(found) == 0 {
				return notSlurm("without any /slurm/ path")
			}
			return err
		})
		if errors.Is(err, ErrNotFound) {
			specErr = err
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, m := range supportedMinors {
			if listed, ok := found[m]; ok {
				return &server{v: versionFromMinor(m), via: p, listed: listed}, nil
			}
		}
		var offered []string
		for m := range found {
			offered = append(offered, "v0.0."+strconv.Itoa(m))
		}
		slices.Sort(offered)
		return nil, &Error{Resource: "negotiate", Method: http.MethodGet, Path: p, Status: http.StatusOK, Kind: ErrNotFound,
			Err: fmt.Errorf("no supported slurm API version (offered: %s; supported: v0.0.37 to v0.0.45)", strings.Join(offered, ", "))}
	}
	// No document: probe ping, newest first.
	for _, m := range supportedMinors {
		v := versionFromMinor(m)
		err := c.do(ctx, "negotiate", v.path("ping"), nil, func(_ time.Time, _ int, body io.Reader) error {
			if _, meta, err := openapi.DecodePing(body); err != nil || meta.Release == "" && meta.Plugin == "" {
				return notSlurm("without Slurm's meta")
			}
			return nil
		})
		if err == nil {
			return &server{v: v, via: "ping probe"}, nil
		}
		if errors.Is(err, ErrNotFound) {
			continue
		}
		return nil, err
	}
	return nil, &Error{Resource: "negotiate", Method: http.MethodGet, Path: "/slurm/v0.0.{37..45}/ping", Kind: ErrNotFound,
		Err: fmt.Errorf("no supported API version answered at %s (spec: %v)", c.display, specErr)}
}

// do performs GET path?q with the per-request timeout and hands 200 and 304
// bodies to handle, streamed and size-limited. Any other outcome becomes an
// *Error of the matching kind.
func (c *Client) do(ctx context.Context, resource, path string, q url.Values,
	handle func(start time.Time, status int, body io.Reader) error,
) error {
	mkErr := func(kind error, status int, err error) *Error {
		return &Error{Resource: resource, Method: http.MethodGet, Path: path, Status: status, Kind: kind, Err: err, URL: c.display}
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()

	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return mkErr(ErrUnreachable, 0, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.user != "" {
		req.Header.Set("X-SLURM-USER-NAME", c.user)
	}
	if c.token != nil {
		tok, err := c.token.get()
		if err != nil {
			return mkErr(ErrToken, 0, err)
		}
		req.Header.Set("X-SLURM-USER-TOKEN", tok)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return mkErr(transportKind(ctx, err), 0, scrubURL(err))
	}
	defer resp.Body.Close()

	// slurmrestd answers JSON (and plain text for a few errors); an HTML
	// page is a web server or proxy, and its markup is no message to quote.
	ctype := mediaType(resp.Header.Get("Content-Type"))
	html := ctype == "text/html" || ctype == "application/xhtml+xml"
	if html && (resp.StatusCode == http.StatusOK || resource == "negotiate") {
		e := mkErr(ErrNotSlurmrestd, resp.StatusCode, nil)
		e.ContentType = ctype
		return e
	}

	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotModified:
		body := &limitedBody{r: resp.Body, left: c.opts.MaxBodyBytes}
		if err := handle(start, resp.StatusCode, body); err != nil {
			switch {
			case body.err != nil && errors.Is(body.err, ErrBodyTooLarge):
				return mkErr(ErrBodyTooLarge, resp.StatusCode, fmt.Errorf("limit %d bytes", c.opts.MaxBodyBytes))
			case body.err != nil && ctx.Err() != nil:
				return mkErr(transportKind(ctx, body.err), resp.StatusCode, fmt.Errorf("reading body after %d bytes: %w", body.n, body.err))
			case body.err != nil && !errors.Is(body.err, io.ErrUnexpectedEOF):
				return mkErr(ErrUnreachable, resp.StatusCode, fmt.Errorf("reading body after %d bytes: %w", body.n, body.err))
			case body.err != nil:
				return mkErr(ErrMalformed, resp.StatusCode, fmt.Errorf("truncated body after %d bytes: %w", body.n, err))
			}
			// A Slurm "errors" array decoded from a 200 is the server
			// talking, not a malformed body.
			if isSlurmError(err) {
				return mkErr(ErrServer, resp.StatusCode, err)
			}
			var ns *notSlurmError
			if errors.As(err, &ns) {
				e := mkErr(ErrNotSlurmrestd, resp.StatusCode, ns)
				e.ContentType = ctype
				return e
			}
			return mkErr(ErrMalformed, resp.StatusCode, err)
		}
		return nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		if c.token != nil {
			// The token may just have been rotated; look again next time
			// even if the file looks unchanged.
			c.token.invalidate()
		}
		e := mkErr(ErrUnauthorized, resp.StatusCode, nil)
		e.SlurmErrors = readErrorBody(resp.Body, html)
		if c.token != nil {
			e.TokenFile = c.token.path
		}
		return e
	case resp.StatusCode == http.StatusNotFound:
		e := mkErr(ErrNotFound, resp.StatusCode, nil)
		e.SlurmErrors = readErrorBody(resp.Body, html)
		return e
	default:
		e := mkErr(ErrServer, resp.StatusCode, nil)
		e.SlurmErrors = readErrorBody(resp.Body, html)
		if resp.StatusCode == http.StatusInternalServerError && c.token != nil {
			// slurmrestd 22.05 answers an expired or malformed token with
			// a 500 ("slurmctld config is unable to load"), the same as
			// when slurmctld is down: say both, and look at the file again.
			c.token.invalidate()
			e.TokenFile = c.token.path
		}
		return e
	}
}

// isSlurmError reports whether a decoder error came from the body's own
// non-empty "errors" array: the server talking, not a shape problem.
func isSlurmError(err error) bool {
	var ae *openapi.APIError
	return errors.As(err, &ae)
}

// readErrorBody reads at most 64 KiB of an error response for its Slurm
// error texts; an error body is small and is not worth more. An HTML body
// (a proxy's error page) has none.
func readErrorBody(r io.Reader, html bool) []string {
	if html {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil && len(b) == 0 {
		return nil
	}
	return slurmErrorTexts(b)
}

// mediaType is the Content-Type without parameters, lower case; "" when
// absent or unreadable.
func mediaType(header string) string {
	t, _, err := mime.ParseMediaType(header)
	if err != nil {
		return ""
	}
	return t
}

// transportKind classifies an error from sending a request or reading its body.
func transportKind(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return ErrTimeout
	case errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case errors.Is(err, context.Canceled):
		return ErrTimeout
	default:
		return ErrUnreachable
	}
}

// scrubURL drops the *url.Error wrapper's URL (it holds the query, which is
// harmless, but the message repeats what Error already says).
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// limitedBody passes a body through to a decoder, failing (instead of
// silently truncating) past the limit and remembering the first read error
// so that do can tell a network problem from malformed JSON.
type limitedBody struct {
	r    io.Reader
	left int64
	n    int64
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left <= 0 {
		// Probe for one more byte: a body of exactly the limit is fine.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			b.err = ErrBodyTooLarge
			return 0, b.err
		}
		if err != nil && err != io.EOF {
			b.err = err
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	b.left -= int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}
