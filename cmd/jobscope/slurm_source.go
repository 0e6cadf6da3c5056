package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/config"

	"jobscope/slurm"
	"jobscope/slurm/rest"
)

// sourceFlags choose and configure where `jobscope slurm` reads Slurm from.
type sourceFlags struct {
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

func addSourceFlags(cmd *kingpin.CmdClause) *sourceFlags {
	return &sourceFlags{
		kind: cmd.Flag("slurm.source", "Where to read Slurm state: rest (slurmrestd) or cli (squeue/sinfo/sdiag/sshare on this host).").
			Default("rest").Enum("rest", "cli"),
		restURL: cmd.Flag("slurm.rest-url", "slurmrestd URL: http(s)://host:port or unix:///path/to/slurmrestd.socket.").
			Default("http://127.0.0.1:6820").String(),
		tokenFile: cmd.Flag("slurm.token-file", "File holding the JWT for slurmrestd (re-read when it changes; never pass a token on the command line). Empty for rest_auth/local over a unix socket.").
			Default("").String(),
		user: cmd.Flag("slurm.user", "User name sent with the token (X-SLURM-USER-NAME).").
			Default("").String(),
		caFile: cmd.Flag("slurm.tls.ca-file", "CA certificate to verify slurmrestd's certificate.").
			Default("").String(),
		certFile: cmd.Flag("slurm.tls.cert-file", "Client certificate for slurmrestd.").
			Default("").String(),
		keyFile: cmd.Flag("slurm.tls.key-file", "Client key for slurmrestd.").
			Default("").String(),
		serverName: cmd.Flag("slurm.tls.server-name", "Server name to verify slurmrestd's certificate against.").
			Default("").String(),
		insecure: cmd.Flag("slurm.tls.insecure-skip-verify", "Do not verify slurmrestd's certificate.").
			Default("false").Bool(),
		timeout: cmd.Flag("slurm.request-timeout", "Timeout of one request to slurmrestd or one CLI command, body included.").
			Default("60s").Duration(),
		version: cmd.Flag("slurm.api-version", "Force a slurmrestd API version (e.g. v0.0.40) instead of negotiating the newest served.").
			Default("").String(),
		noUpdateTime: cmd.Flag("slurm.no-update-time", "Always fetch full lists instead of asking slurmrestd for changes since the last poll.").
			Default("false").Bool(),
		cliBinDir: cmd.Flag("slurm.cli.bin-dir", "Directory of squeue, sinfo, sdiag and sshare for --slurm.source=cli; empty uses PATH.").
			Default("").String(),
	}
}

func (f *sourceFlags) build(logger *slog.Logger) (slurm.Source, error) {
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
		return newCLISource(f, logger)
	}
	return nil, fmt.Errorf("unknown --slurm.source %q", *f.kind)
}
