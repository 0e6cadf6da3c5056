package dcgm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"jobscope/gpu"
)

// DefaultURL is where dcgm-exporter listens on a GPU node.
const DefaultURL = "http://localhost:9400/metrics"

// maxPage bounds what is read from the exporter: a page is a few KB per GPU,
// so 64 MiB means something is wrong, not a big node.
const maxPage = 64 << 20

// Backend reads the DCGM exporter's page on every Snapshot.
type Backend struct {
	url    string
	client *http.Client
	now    func() time.Time
	// mig names MIG instances by their own UUIDs; nil keeps
	// "<parent UUID>/<GI>".
	mig *migNames
}

// New returns a backend reading url. client may be nil.
func New(url string, client *http.Client, opts ...Option) *Backend {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	b := &Backend{url: url, client: client, now: time.Now}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Name implements gpu.Backend.
func (b *Backend) Name() string { return "dcgm" }

// Close implements gpu.Backend.
func (b *Backend) Close() error { return nil }

// Snapshot implements gpu.Backend. An exporter that cannot be read makes
// the backend unavailable for this scrape, with the reason
// jobscope_gpu_backend_up gives: unreachable, timeout, http_status,
// not_dcgm_exporter (an answer that is no DCGM exporter's page: another
// exporter, a web server) or parse_error.
func (b *Backend) Snapshot(ctx context.Context) (*gpu.Snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url, nil)
	if err != nil {
		return nil, gpu.Unavailable(gpu.ReasonUnreachable, fmt.Errorf("DCGM exporter URL: %w", err))
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, gpu.Unavailable(transportReason(err), fmt.Errorf("DCGM exporter: %w", err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, gpu.Unavailable(gpu.ReasonHTTPStatus, fmt.Errorf("DCGM exporter %s: %s", b.url, resp.Status))
	}
	// The whole page is read first (a few KB per GPU) so that a page that
	// does not parse can be told apart: a DCGM page gone wrong, or no DCGM
	// page at all (an HTML error page, another exporter).
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	if err != nil {
		return nil, gpu.Unavailable(transportReason(err), fmt.Errorf("DCGM exporter %s: reading the page: %w", b.url, err))
	}
	if len(body) > maxPage {
		return nil, gpu.Unavailable(gpu.ReasonParseError, fmt.Errorf("DCGM exporter %s: page larger than %d MiB", b.url, maxPage>>20))
	}
	snap, err := Parse(bytes.NewReader(body))
	switch {
	case errors.Is(err, ErrNotDCGM):
		return nil, gpu.Unavailable(gpu.ReasonNotDCGM,
			fmt.Errorf("DCGM exporter %s: %w (a Prometheus page without any %s series)", b.url, ErrNotDCGM, dcgmPrefix))
	case err != nil && !bytes.Contains(body, []byte(dcgmPrefix)):
		return nil, gpu.Unavailable(gpu.ReasonNotDCGM, fmt.Errorf("DCGM exporter %s: %w (Content-Type %q, not Prometheus text format)",
			b.url, ErrNotDCGM, resp.Header.Get("Content-Type")))
	case err != nil:
		return nil, gpu.Unavailable(gpu.ReasonParseError, fmt.Errorf("DCGM exporter %s: %w", b.url, err))
	}
	snap.Taken = b.now()
	if b.mig != nil {
		b.mig.rename(ctx, snap.Devices)
		// The new UUIDs sort MIG instances of one parent the same way
		// (by GPU instance ID first), but keep the model's order promise
		// explicit.
		gpu.SortDevices(snap.Devices)
	}
	return snap, nil
}

// transportReason tells a request that ran out of time from one that got
// no answer at all.
func transportReason(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.As(err, &ne) && ne.Timeout() {
		return gpu.ReasonTimeout
	}
	return gpu.ReasonUnreachable
}

// dcgmPrefix starts the name of every series a DCGM exporter serves.
const dcgmPrefix = "DCGM_FI_"

// ErrNotDCGM is returned by Parse for a page without a single DCGM_FI_
// family: not a DCGM exporter's page (a DCGM exporter always serves some).
var ErrNotDCGM = errors.New("not a DCGM exporter page")

// Parse reads a DCGM exporter page (Prometheus text format) into a
// snapshot. Series without a GPU UUID are skipped; a page without any DCGM
// family is ErrNotDCGM.
func Parse(r io.Reader) (*gpu.Snapshot, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	dcgmSeen := false
	for name := range families {
		if strings.HasPrefix(name, dcgmPrefix) {
			dcgmSeen = true
			break
		}
	}
	if !dcgmSeen {
		return nil, ErrNotDCGM
	}
	snap := &gpu.Snapshot{Backend: "dcgm"}
	devices := map[string]*gpu.Device{}
	// Frame buffer parts in MiB by device key, summed when FB_TOTAL is
	// absent; fbSeen marks the devices that have FB_FREE.
	fbParts := map[string]float64{}
	fbSeen := map[string]bool{}

	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	// Fixed order so ECC and NVLink lists come out the same on every scrape.
	sort.Strings(names)
	for _, name := range names {
		apply, ok := Fields[name]
		if !ok {
			continue
		}
		for _, m := range families[name].GetMetric() {
			v, ok := value(m)
			if !ok {
				continue
			}
			l := labels(m)
			d := device(devices, l)
			if d == nil {
				continue
			}
			if snap.DriverVersion == "" {
				snap.DriverVersion = l["DCGM_FI_DRIVER_VERSION"]
			}
			switch name {
			case "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_RESERVED":
				fbParts[d.UUID] += v
			case "DCGM_FI_DEV_FB_FREE":
				// Without FREE the parts do not add up to the total.
				fbParts[d.UUID] += v
				fbSeen[d.UUID] = true
			}
			apply(d, v)
		}
	}
	for key, d := range devices {
		if !d.MemoryTotal.OK && fbSeen[key] {
			d.MemoryTotal = gpu.R(fbParts[key] * mib)
		}
		snap.Devices = append(snap.Devices, *d)
	}
	gpu.SortDevices(snap.Devices)
	return snap, nil
}

func value(m *dto.Metric) (float64, bool) {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue(), true
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue(), true
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

func labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// device finds or creates the device a series belongs to. dcgm-exporter
// labels the UUID `UUID` (older) or `uuid`; a MIG instance carries its
// parent's UUID plus GPU_I_ID and GPU_I_PROFILE.
func device(devices map[string]*gpu.Device, l map[string]string) *gpu.Device {
	uuid := l["UUID"]
	if uuid == "" {
		uuid = l["uuid"]
	}
	if uuid == "" {
		return nil
	}
	key, gi, parent := uuid, -1, ""
	if s := l["GPU_I_ID"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil
		}
		gi, parent = n, uuid
		key = uuid + "/" + s
	}
	if d, ok := devices[key]; ok {
		return d
	}
	idx, err := strconv.Atoi(l["gpu"])
	if err != nil {
		idx = -1
	}
	minor := -1
	if dev, ok := strings.CutPrefix(l["device"], "nvidia"); ok {
		if n, err := strconv.Atoi(dev); err == nil && n >= 0 {
			minor = n
		}
	}
	d := &gpu.Device{
		UUID:          key,
		Index:         idx,
		Minor:         minor,
		PCIBusID:      l["pci_bus_id"],
		Model:         l["modelName"],
		Parent:        parent,
		GPUInstanceID: gi,
		MIGProfile:    l["GPU_I_PROFILE"],
	}
	devices[key] = d
	return d
}
