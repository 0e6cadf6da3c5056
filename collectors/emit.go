package collectors

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
)

// Emitter sends const metrics and keeps going when one is invalid: a job
// name with broken UTF-8 must not panic the exporter (MustNewConstMetric
// would) nor drop every other series. Invalid label values are repaired;
// anything else invalid is counted and reported by Err.
type Emitter struct {
	ch      chan<- prometheus.Metric
	dropped int
	first   error
}

// NewEmitter wraps ch.
func NewEmitter(ch chan<- prometheus.Metric) *Emitter { return &Emitter{ch: ch} }

// Gauge sends a gauge sample.
func (e *Emitter) Gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.GaugeValue, v, labels)
}

// Counter sends a counter sample.
func (e *Emitter) Counter(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.CounterValue, v, labels)
}

func (e *Emitter) send(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	for i, l := range labels {
		labels[i] = validLabelValue(l)
	}
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		e.drop(err)
		return
	}
	e.ch <- m
}

// validLabelValue repairs a label value that is not valid UTF-8 by
// replacing each invalid byte with U+FFFD, as Emitter and FamilyBuilder
// promise.
func validLabelValue(l string) string {
	if utf8.ValidString(l) {
		return l
	}
	return string([]rune(l))
}

func (e *Emitter) drop(err error) {
	e.dropped++
	if e.first == nil {
		e.first = err
	}
}

// Err reports metrics that could not be built, nil when all were sent.
func (e *Emitter) Err() error {
	if e.dropped == 0 {
		return nil
	}
	return fmt.Errorf("%d metrics dropped, first: %w", e.dropped, e.first)
}

// FamilyDesc describes one metric family that a FamilyBuilder builds: what
// a prometheus.Desc is to const metrics, plus the type.
type FamilyDesc struct {
	name, help string
	typ        dto.MetricType
	labels     []string
	// byName lists the indexes of labels in the order of their names:
	// the order of a metric's label pairs and of the registry's sort.
	byName []int
	err    error
}

// NewGaugeDesc describes a gauge family with the given variable labels.
func NewGaugeDesc(name, help string, labels ...string) *FamilyDesc {
	return newFamilyDesc(name, help, dto.MetricType_GAUGE, labels)
}

// NewCounterDesc describes a counter family with the given variable labels.
func NewCounterDesc(name, help string, labels ...string) *FamilyDesc {
	return newFamilyDesc(name, help, dto.MetricType_COUNTER, labels)
}

func newFamilyDesc(name, help string, typ dto.MetricType, labels []string) *FamilyDesc {
	labels = slices.Clone(labels)
	d := &FamilyDesc{name: name, help: help, typ: typ, labels: labels, byName: make([]int, len(labels))}
	if !model.LegacyValidation.IsValidMetricName(name) {
		d.err = fmt.Errorf("invalid metric name %q", name)
	}
	for i, l := range labels {
		d.byName[i] = i
		if !model.LegacyValidation.IsValidLabelName(l) || strings.HasPrefix(l, model.ReservedLabelPrefix) {
			d.err = fmt.Errorf("metric %s: invalid label name %q", name, l)
		}
	}
	slices.SortFunc(d.byName, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	for i := 1; i < len(d.byName); i++ {
		if labels[d.byName[i]] == labels[d.byName[i-1]] {
			d.err = fmt.Errorf("metric %s: label %q twice", name, labels[d.byName[i]])
		}
	}
	return d
}

// FamilyBuilder builds metric families directly as client_model objects,
// for a FamilySetCollector. It is the fast counterpart of Emitter: no
// prometheus.Metric per sample, no channel send, no Metric.Write; samples
// are collected in flat slices and turned into dto objects in bulk, label
// pairs with the same name and value are shared (the families are read-only
// once built), and the output is sorted as prometheus.Registry sorts.
//
// Like Emitter it keeps going: invalid label values are repaired (U+FFFD),
// a sample with the wrong number of labels and a duplicate series are
// dropped and reported by Build's error.
type FamilyBuilder struct {
	families map[*FamilyDesc]*familySamples
	added    []*familySamples // in the order of their first sample
	ready    []*familySamples // added, checked and sorted (prepare)
	// pairs are the label pairs built so far, by name and value.
	pairs   map[string]map[string]*dto.LabelPair
	hints   map[string]int // expected samples by family name
	dropped int
	first   error
}

type familySamples struct {
	desc    *FamilyDesc
	values  []string  // len(desc.labels) label values per sample, declared order
	samples []float64 // one value per sample
}

// NewFamilyBuilder returns an empty builder.
func NewFamilyBuilder() *FamilyBuilder {
	return &FamilyBuilder{
		families: map[*FamilyDesc]*familySamples{},
		pairs:    map[string]map[string]*dto.LabelPair{},
	}
}

// Add adds one sample of d's family; labels are the values of d's labels,
// in d's order.
func (b *FamilyBuilder) Add(d *FamilyDesc, v float64, labels ...string) {
	if len(labels) != len(d.labels) {
		b.drop(fmt.Errorf("metric %s: %d label values for %d labels", d.name, len(labels), len(d.labels)))
		return
	}
	f := b.families[d]
	if f == nil {
		f = &familySamples{desc: d}
		if n := b.hints[d.name]; n > 0 {
			f.values = make([]string, 0, n*len(d.labels))
			f.samples = make([]float64, 0, n)
		}
		b.families[d] = f
		b.added = append(b.added, f)
	}
	for _, l := range labels {
		f.values = append(f.values, validLabelValue(l))
	}
	f.samples = append(f.samples, v)
}

func (b *FamilyBuilder) dropFamily(f *familySamples, err error) {
	b.drop(err)
	b.dropped += len(f.samples) - 1
}

// SizeLike preallocates for as many samples per family as prev has: the
// previous build of the same collector is the best guess of the next one.
func (b *FamilyBuilder) SizeLike(prev []*dto.MetricFamily) {
	b.hints = make(map[string]int, len(prev))
	for _, mf := range prev {
		b.hints[mf.GetName()] = len(mf.Metric)
	}
}

func (b *FamilyBuilder) drop(err error) {
	b.dropped++
	if b.first == nil {
		b.first = err
	}
}

// Build returns the families sorted by name, each family's metrics sorted
// by label values (CompareMetrics), empty families left out. The result and
// everything it points to must be treated as read-only. The error reports
// dropped samples and families; what could be built is returned with it.
func (b *FamilyBuilder) Build() ([]*dto.MetricFamily, error) {
	out := make([]*dto.MetricFamily, 0, len(b.prepare()))
	err := b.BuildEach(func(mf *dto.MetricFamily) { out = append(out, mf) })
	return out, err
}

// BuildEach is Build handing each family to fn, in order, as soon as it is
// built, so that a caller that encodes and forgets them never has more
// than one family's objects live (NewStreamedFamilySet).
func (b *FamilyBuilder) BuildEach(fn func(*dto.MetricFamily)) error {
	for _, f := range b.prepare() {
		fn(b.build(f))
	}
	b.families, b.added, b.ready = nil, nil, nil
	if b.dropped == 0 {
		return nil
	}
	return fmt.Errorf("%d metrics dropped, first: %w", b.dropped, b.first)
}

// Names returns the names of the families Build would return, sorted, and
// the samples added to each (duplicate series not yet dropped).
func (b *FamilyBuilder) Names() ([]string, []int) {
	fams := b.prepare()
	names, series := make([]string, len(fams)), make([]int, len(fams))
	for i, f := range fams {
		names[i], series[i] = f.desc.name, len(f.samples)
	}
	return names, series
}

// prepare drops the families that cannot be built and sorts the others by
// name, once.
func (b *FamilyBuilder) prepare() []*familySamples {
	if b.ready != nil || b.added == nil {
		return b.ready
	}
	fams := make([]*familySamples, 0, len(b.added))
	for _, f := range b.added {
		if f.desc.err != nil {
			b.dropFamily(f, f.desc.err)
			continue
		}
		fams = append(fams, f)
	}
	slices.SortStableFunc(fams, func(x, y *familySamples) int { return strings.Compare(x.desc.name, y.desc.name) })
	b.ready = make([]*familySamples, 0, len(fams))
	for i, f := range fams {
		if i > 0 && f.desc.name == fams[i-1].desc.name {
			b.dropFamily(f, fmt.Errorf("metric %s described twice", f.desc.name))
			continue
		}
		b.ready = append(b.ready, f)
	}
	return b.ready
}

func (b *FamilyBuilder) build(f *familySamples) *dto.MetricFamily {
	d := f.desc
	k, n := len(d.labels), len(f.samples)
	value := func(i, j int) string { return f.values[i*k+d.byName[j]] }
	compare := func(x, y int32) int {
		for j := range k {
			if c := strings.Compare(value(int(x), j), value(int(y), j)); c != 0 {
				return c
			}
		}
		return 0
	}
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	if !slices.IsSortedFunc(order, compare) {
		slices.SortStableFunc(order, compare)
	}

	// Every metric's objects come from a few slices allocated at once.
	names := make([]*string, k)
	for j := range names {
		names[j] = &d.labels[d.byName[j]]
	}
	metrics := make([]dto.Metric, n)
	ptrs := make([]*dto.Metric, 0, n)
	pairs := make([]*dto.LabelPair, n*k)
	var gauges []dto.Gauge
	var counters []dto.Counter
	if d.typ == dto.MetricType_COUNTER {
		counters = make([]dto.Counter, n)
	} else {
		gauges = make([]dto.Gauge, n)
	}
	for at, i := range order {
		if at > 0 && compare(order[at-1], i) == 0 {
			b.drop(fmt.Errorf("metric %s: duplicate series %v", d.name, f.values[int(i)*k:int(i+1)*k]))
			continue
		}
		m := &metrics[len(ptrs)]
		ls := pairs[len(ptrs)*k : (len(ptrs)+1)*k : (len(ptrs)+1)*k]
		for j := range k {
			ls[j] = b.pair(names[j], value(int(i), j))
		}
		m.Label = ls
		if counters != nil {
			c := &counters[len(ptrs)]
			c.Value = &f.samples[i]
			m.Counter = c
		} else {
			g := &gauges[len(ptrs)]
			g.Value = &f.samples[i]
			m.Gauge = g
		}
		ptrs = append(ptrs, m)
	}
	f.values = nil
	return &dto.MetricFamily{Name: &d.name, Help: &d.help, Type: d.typ.Enum(), Metric: ptrs}
}

// pair returns the shared label pair name=value.
func (b *FamilyBuilder) pair(name *string, value string) *dto.LabelPair {
	byValue := b.pairs[*name]
	if byValue == nil {
		byValue = map[string]*dto.LabelPair{}
		b.pairs[*name] = byValue
	}
	p := byValue[value]
	if p == nil {
		p = &dto.LabelPair{Name: name, Value: &value}
		byValue[value] = p
	}
	return p
}

// CompareMetrics orders metrics of one family as prometheus.Registry does
// (internal.MetricSorter, timestamps aside): by number of labels, then by
// label values in the order of the (sorted) label names.
func CompareMetrics(a, b *dto.Metric) int {
	if c := cmp.Compare(len(a.Label), len(b.Label)); c != 0 {
		return c
	}
	for i, l := range a.Label {
		if c := strings.Compare(l.GetValue(), b.Label[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

// SendFamilies sends ready-built gauge and counter families as const
// metrics: the path of Runner.Scrape, on which every metric passes the
// checks of the registry that gathers it (a pedantic one in tests). A metric
// that cannot be built is dropped and counted in the error.
func SendFamilies(ch chan<- prometheus.Metric, mfs []*dto.MetricFamily) error {
	e := NewEmitter(ch)
	for _, mf := range mfs {
		if len(mf.Metric) == 0 {
			continue
		}
		var t prometheus.ValueType
		switch mf.GetType() {
		case dto.MetricType_GAUGE:
			t = prometheus.GaugeValue
		case dto.MetricType_COUNTER:
			t = prometheus.CounterValue
		default:
			e.drop(fmt.Errorf("metric %s: type %s not supported", mf.GetName(), mf.GetType()))
			continue
		}
		var names []string
		for _, l := range mf.Metric[0].Label {
			names = append(names, l.GetName())
		}
		d := prometheus.NewDesc(mf.GetName(), mf.GetHelp(), names, nil)
		for _, m := range mf.Metric {
			values := make([]string, 0, len(names))
			for i, l := range m.Label {
				if i >= len(names) || l.GetName() != names[i] {
					break
				}
				values = append(values, l.GetValue())
			}
			if len(values) != len(names) || len(m.Label) != len(names) {
				e.drop(fmt.Errorf("metric %s: labels %v differ from the family's %v", mf.GetName(), m.Label, names))
				continue
			}
			v := m.GetGauge().GetValue()
			if t == prometheus.CounterValue {
				v = m.GetCounter().GetValue()
			}
			metric, err := prometheus.NewConstMetric(d, t, v, values...)
			if err != nil {
				e.drop(err)
				continue
			}
			e.ch <- metric
		}
	}
	return e.Err()
}
