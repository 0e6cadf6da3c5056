package infiniband

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"jobscope/collectors"
	"jobscope/infiniband"
)

// Job is a Slurm job on this node, as the attribution needs it.
type Job struct {
	ID    string
	Start time.Time // zero when unknown
	// GPUPCIBusIDs are the bus ids of the job's GPUs ("00000000:1B:00.0").
	GPUPCIBusIDs []string
}

// Options are the collector's inputs.
type Options struct {
	SysFS  string
	Config Config
	// Jobs returns the jobs running on the node; nil disables attribution.
	Jobs func() []Job
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Logger gets a sysfs problem once when it starts and once when it
	// ends; nil discards.
	Logger *slog.Logger
}

// Collector is the InfiniBand collector. It keeps counter state between
// scrapes, so one instance serves every scrape of a process.
type Collector struct {
	fs     infiniband.FS
	reader *infiniband.Reader
	cfg    compiled
	d      *descs
	jobs   func() []Job
	now    func() time.Time

	// sem serialises scrapes (the counter state is shared) while letting a
	// waiting scrape give up at its deadline.
	sem chan struct{}

	gen        uint64
	ports      map[portKey]*portState
	readErrors map[errKey]uint64
	devPlaces  map[string]pciPlace // device -> PCI sysfs path and NUMA node
	gpuPlaces  map[string]pciPlace // GPU bus id -> PCI sysfs path and NUMA node
	jobState   map[string]*jobState
	lastScrape time.Time
	prev       []*dto.MetricFamily // the last scrape's families, to size the next
	logger     *slog.Logger
	// sysfsState is the last state of --path.sysfs logged: "" (readable),
	// "no_class", "no_sysfs".
	sysfsState string
}

var _ collectors.FamilySetCollector = (*Collector)(nil)

// emitter adds samples to a FamilyBuilder: the collector builds its
// families directly (no const metric per series, no registry sort), which
// is most of what a scrape costs once the files are read.
type emitter struct{ b *collectors.FamilyBuilder }

func (e *emitter) Gauge(d *collectors.FamilyDesc, v float64, labels ...string) {
	e.b.Add(d, v, labels...)
}

func (e *emitter) Counter(d *collectors.FamilyDesc, v float64, labels ...string) {
	e.b.Add(d, v, labels...)
}

// New builds the collector; it fails on a bad flag value.
func New(o Options) (*Collector, error) {
	cfg, err := o.Config.compile()
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	c := &Collector{
		fs:         infiniband.New(o.SysFS),
		cfg:        cfg,
		d:          newDescs(),
		jobs:       o.Jobs,
		now:        now,
		sem:        make(chan struct{}, 1),
		ports:      map[portKey]*portState{},
		readErrors: map[errKey]uint64{},
		devPlaces:  map[string]pciPlace{},
		gpuPlaces:  map[string]pciPlace{},
		jobState:   map[string]*jobState{},
		logger:     o.Logger,
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.reader = c.fs.NewReader()
	c.reader.Counter = c.cfg.counter
	c.reader.Now = now
	return c, nil
}

type errKey struct{ device, reason string }

// Update reads sysfs and sends the metrics of one scrape (the path of
// Runner.Scrape and of tests).
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	return collectors.FamilySetFunc(c.FamilySet).Update(ctx, ch)
}

// FamilySet reads sysfs and returns the families of one scrape.
func (c *Collector) FamilySet(ctx context.Context) (*collectors.FamilySet, error) {
	mfs, err := c.build(ctx)
	if mfs == nil {
		return nil, err
	}
	c.prev = mfs
	return collectors.NewScrapeFamilySet(mfs), err
}

func (c *Collector) build(ctx context.Context) ([]*dto.MetricFamily, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the previous infiniband scrape: %w", ctx.Err())
	}
	defer func() { <-c.sem }()

	names, err := c.reader.Devices()
	switch {
	case errors.Is(err, infiniband.ErrNoClass):
		// No HCA on this host: nothing to export, and nothing wrong.
		c.noteSysfs("no_class", err)
		return nil, nil
	case errors.Is(err, infiniband.ErrNoSysfs):
		// A wrong --path.sysfs: the collector fails, and says why once
		// (a warning) rather than as an error on every scrape, which
		// ErrNoData keeps the framework from logging.
		c.noteSysfs("no_sysfs", err)
		return nil, fmt.Errorf("%w: %v", collectors.ErrNoData, err)
	case err != nil:
		return nil, err
	}
	c.noteSysfs("", nil)
	now := c.now()
	c.gen++
	b := collectors.NewFamilyBuilder()
	b.SizeLike(c.prev)
	e := &emitter{b}
	devices := make([]infiniband.Device, 0, len(names))
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !c.cfg.device(name) {
			continue
		}
		dev := c.reader.Device(name)
		devices = append(devices, dev)
		c.emitDevice(e, &dev)
	}
	c.sweep(devices)
	c.emitErrors(e)
	c.attribute(e, devices, now)
	c.lastScrape = now
	return b.Build()
}

// noteSysfs logs the state of --path.sysfs when it changes: no sysfs is a
// warning, no class/infiniband is debug (a node without HCA is normal), a
// sysfs readable again after a warning is info.
func (c *Collector) noteSysfs(state string, err error) {
	if state == c.sysfsState {
		return
	}
	prev := c.sysfsState
	c.sysfsState = state
	switch state {
	case "no_sysfs":
		c.logger.Warn("--path.sysfs is not a sysfs mount; InfiniBand is not read (jobscope_scrape_collector_success{collector=\"infiniband\"} 0)",
			"path", c.fs.Root(), "err", err)
	case "no_class":
		c.logger.Debug("no InfiniBand or RDMA device on this host", "path", c.fs.ClassPath())
	default:
		if prev == "no_sysfs" {
			c.logger.Info("--path.sysfs is readable again", "path", c.fs.Root())
		}
	}
}

func (c *Collector) countErrors(device string, errs []infiniband.FileError) {
	for _, fe := range errs {
		c.readErrors[errKey{device, fe.Reason()}]++
	}
}

func (c *Collector) emitErrors(e *emitter) {
	for k, n := range c.readErrors {
		e.Counter(c.d.readErrors, float64(n), k.device, k.reason)
	}
}

func (c *Collector) emitDevice(e *emitter, dev *infiniband.Device) {
	c.countErrors(dev.Name, dev.Errors)
	// "Every reason" gets a series from the first scrape on, so an alert
	// on increase() sees the first error too.
	for _, r := range [...]string{"not_available", "missing", "read", "parse"} {
		if _, ok := c.readErrors[errKey{dev.Name, r}]; !ok {
			c.readErrors[errKey{dev.Name, r}] = 0
		}
	}
	e.Gauge(c.d.deviceInfo, 1, dev.Name, dev.NodeGUID, dev.SysImageGUID, dev.BoardID,
		dev.FirmwareVersion, dev.HCAType, pciAddress(c.devicePlace(dev.Name).path))
	for i := range dev.Ports {
		p := &dev.Ports[i]
		c.countErrors(dev.Name, p.Errors)
		st := c.portState(dev.Name, p.Number)
		c.emitLink(e, dev.Name, st.label, p)
		c.emitCounters(e, dev.Name, st, p)
	}
}

func (c *Collector) emitLink(e *emitter, dev, port string, p *infiniband.Port) {
	speed := ""
	if p.HasRate {
		speed = p.Rate.Speed
	}
	e.Gauge(c.d.portInfo, 1, dev, port, p.LinkLayer, speed)
	if p.State.Name != "" {
		e.Gauge(c.d.portState, 1, dev, port, p.State.Name)
		if p.State.HasID {
			e.Gauge(c.d.portStateID, float64(p.State.ID), dev, port)
		}
	}
	if p.PhysState.Name != "" {
		e.Gauge(c.d.portPhysState, 1, dev, port, p.PhysState.Name)
		if p.PhysState.HasID {
			e.Gauge(c.d.portPhysStateID, float64(p.PhysState.ID), dev, port)
		}
	}
	if p.HasRate {
		e.Gauge(c.d.rate, p.Rate.GbitPerSecond*1e9/8, dev, port)
		if p.Rate.Lanes > 0 {
			e.Gauge(c.d.width, float64(p.Rate.Lanes), dev, port)
		}
	}
	wantRate, hasRate := lookup(c.cfg.rates, dev)
	wantWidth, hasWidth := lookup(c.cfg.widths, dev)
	if !hasRate && !hasWidth {
		return
	}
	degraded := false
	if hasRate {
		e.Gauge(c.d.expectedRate, wantRate*1e9/8, dev, port)
		degraded = degraded || (p.HasRate && p.Rate.GbitPerSecond < wantRate)
	}
	if hasWidth {
		e.Gauge(c.d.expectedWidth, wantWidth, dev, port)
		degraded = degraded || (p.HasRate && p.Rate.Lanes > 0 && float64(p.Rate.Lanes) < wantWidth)
	}
	// A port that is not active has no trained link to judge: its state
	// series says what is wrong with it.
	active := p.State.HasID && p.State.ID == 4
	e.Gauge(c.d.degraded, b2f(degraded && active), dev, port)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// devicePlace returns the device's PCI path and NUMA node, resolved once
// per device.
func (c *Collector) devicePlace(name string) pciPlace {
	if p, ok := c.devPlaces[name]; ok {
		return p
	}
	p := pciPlace{numa: -1}
	if path, err := c.fs.DevicePath(name); err == nil {
		p = pciPlace{path: path, numa: c.fs.NUMANode(path)}
	}
	// Otherwise a virtual device (EFA in some guests, rxe, siw): it has no
	// PCI parent, so no address and no place in the PCIe topology.
	c.devPlaces[name] = p
	return p
}

func pciAddress(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[i+1:]
		}
	}
	return ""
}

func portLabel(n uint) string { return strconv.FormatUint(uint64(n), 10) }
