//go:build !jobscope_nodeonly

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"

	"jobscope/internal/flagvalue"
	"jobscope/report"
)

// reportCommand is `jobscope report JOBID`: one job's use of what it held,
// read back from Prometheus (the logic is in package report).
func reportCommand(app *kingpin.Application) (string, func(context.Context) error) {
	cmd := app.Command("report", "Report what one Slurm job did with its GPUs, fabric, CPUs and memory, from Prometheus (running or ended within retention).")
	jobID := cmd.Arg("jobid", "Slurm job ID.").Required().String()
	// Values that cannot work are refused at parse time, naming the flag
	// (exit 2, as for any bad input).
	promURL := flagvalue.HTTPURL(cmd.Flag("prometheus.url", "Prometheus (or compatible) base URL, e.g. http://prometheus:9090.").
		Envar("JOBSCOPE_PROMETHEUS_URL").Required())
	httpConfig := cmd.Flag("prometheus.http-config-file", "YAML file of prometheus/common's HTTP client settings (basic_auth, authorization, tls_config, proxy_url).").
		ExistingFile()
	cluster := cmd.Flag("cluster", "Value of the `cluster` label to look in (needed when the job ID exists in several clusters).").String()
	format := flagvalue.Enum(cmd.Flag("format", "Output format.").Default("text"), "text", "json", "html")
	output := cmd.Flag("output", "Write to this file (atomically) instead of standard output.").Short('o').String()
	timeout := flagvalue.Duration(cmd.Flag("timeout", "Deadline for all the queries together. At least 1s.").Default("2m"), time.Second)
	lookback := flagvalue.LongDuration(cmd.Flag("lookback", "How far back to look for the job (30d, 2w, 12h). At least 1m.").Default("30d"), time.Minute)

	return cmd.FullCommand(), func(ctx context.Context) error {
		// HTTPURL has checked it; u redacts credentials in messages.
		u, err := url.Parse(*promURL)
		if err != nil {
			return &report.UsageError{Msg: fmt.Sprintf("--prometheus.url: %v", err)}
		}
		cfg := api.Config{Address: *promURL}
		if *httpConfig != "" {
			hc, _, err := config.LoadHTTPConfigFile(*httpConfig)
			if err != nil {
				return &report.UsageError{Msg: fmt.Sprintf("--prometheus.http-config-file: %v", err)}
			}
			rt, err := config.NewRoundTripperFromConfig(*hc, "jobscope-report")
			if err != nil {
				return &report.UsageError{Msg: fmt.Sprintf("--prometheus.http-config-file: %v", err)}
			}
			cfg.RoundTripper = rt
		}
		client, err := api.NewClient(cfg)
		if err != nil {
			return &report.UsageError{Msg: err.Error()}
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		r, err := report.Build(ctx, v1.NewAPI(client), report.Options{
			JobID: *jobID, Cluster: *cluster, Lookback: *lookback, URL: u.Redacted(),
		})
		if err != nil {
			return err
		}
		// Render in memory first: a failure never leaves a partial page.
		var buf bytes.Buffer
		switch *format {
		case "json":
			err = report.JSON(&buf, r)
		case "html":
			err = report.HTML(&buf, r)
		default:
			err = report.Text(&buf, r)
		}
		if err != nil {
			return fmt.Errorf("render: %w", err)
		}
		if *output == "" {
			_, err = os.Stdout.Write(buf.Bytes())
			return err
		}
		return writeAtomic(*output, buf.Bytes())
	}
}

// writeAtomic writes the file through a temporary one in the same
// directory and a rename, so a reader sees the old file or the whole new one.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
	}
	return werr
}
