package source

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/common/config"

	"jobscope/internal/flagvalue"
	"jobscope/slurm"
	"jobscope/slurm/cli"
	"jobscope/slurm/rest"
)

// Flags choose and configure the source.
type Flags struct {
	kind         *string
	restURL      *string
	tokenFile    *string
	user         *string
	caFile       *string
	certFile     *string
	keyFile      *string
	serverName   *string
	insecure     *bool
	timeout      *time.Duration
	version      *string
	noUpdateTime *bool
	cliBinDir    *string
}

// AddFlags registers the source flags.
func AddFlags(g flagvalue.Group) *Flags {
	return &Flags{
		kind: flagvalue.Enum(g.Flag("slurm.source", "Where to read Slurm state: rest (slurmrestd) or cli (squeue/sinfo/sdiag/sshare on this host).").
			Default("rest"), "rest", "cli"),
		restURL: g.Flag("slurm.rest-url", "slurmrestd URL: http(s)://host:port or unix:///path/to/slurmrestd.socket.").
			Default("http://127.0.0.1:6820").String(),
		tokenFile: g.Flag("slurm.token-file", "File holding the JWT for slurmrestd (re-read when it changes; never pass a token on the command line). Empty for rest_auth/local over a unix socket.").
			Default("").String(),
		user: g.Flag("slurm.user", "User name sent with the token (X-SLURM-USER-NAME).").
			Default("").String(),
		caFile: g.Flag("slurm.tls.ca-file", "CA certificate to verify slurmrestd's certificate.").
			Default("").String(),
		certFile: g.Flag("slurm.tls.cert-file", "Client certificate for slurmrestd.").
			Default("").String(),
		keyFile: g.Flag("slurm.tls.key-file", "Client key for slurmrestd.").
			Default("").String(),
		serverName: g.Flag("slurm.tls.server-name", "Server name to verify slurmrestd's certificate against.").
			Default("").String(),
		insecure: g.Flag("slurm.tls.insecure-skip-verify", "Do not verify slurmrestd's certificate.").
			Default("false").Bool(),
		timeout: flagvalue.Duration(g.Flag("slurm.request-timeout", "Timeout of one request to slurmrestd or one CLI command, body included.").
			Default("60s"), time.Millisecond),
		version: g.Flag("slurm.api-version", "Force a slurmrestd API version (e.g. v0.0.40) instead of negotiating the newest served.").
			Default("").String(),
		noUpdateTime: g.Flag("slurm.no-update-time", "Always fetch full lists instead of asking slurmrestd for changes since the last poll.").
			Default("false").Bool(),
		cliBinDir: g.Flag("slurm.cli.bin-dir", "Directory of squeue, sinfo, sdiag and sshare for --slurm.source=cli; empty uses PATH.").
			Default("").String(),
	}
}

// Build returns the source the flags describe.
func (f *Flags) Build(logger *slog.Logger) (slurm.Source, error) {
	switch *f.kind {
	case "rest":
		c, err := rest.New(rest.Options{
			URL:       *f.restURL,
			TokenFile: *f.tokenFile,
			UserName:  *f.user,
			TLS: config.TLSConfig{
				CAFile:             *f.caFile,
				CertFile:           *f.certFile,
				KeyFile:            *f.keyFile,
				ServerName:         *f.serverName,
				InsecureSkipVerify: *f.insecure,
			},
			Timeout:           *f.timeout,
			Version:           *f.version,
			DisableUpdateTime: *f.noUpdateTime,
			Logger:            logger,
		})
		if err != nil {
			return nil, fmt.Errorf("slurmrestd source: %w", err)
		}
		return c, nil
	case "cli":
		return cli.New(cli.Options{BinDir: *f.cliBinDir, Timeout: *f.timeout, Logger: logger})
	}
	return nil, fmt.Errorf("unknown --slurm.source %q", *f.kind)
}
