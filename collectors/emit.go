package collectors

import (
	"cmp"
	"fmt"
	"math"
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
	// buckets are a histogram's upper bounds, increasing, +Inf implied.
	buckets []float64
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

// NewHistogramDesc describes a histogram family with the given bucket
// upper bounds (increasing and finite: the +Inf bucket is implied) and
// variable labels. Its series are added with AddHistogram.
func NewHistogramDesc(name, help string, buckets []float64, labels ...string) *FamilyDesc {
	d := newFamilyDesc(name, help, dto.MetricType_HISTOGRAM, labels)
	d.buckets = slices.Clone(buckets)
	for i, u := range buckets {
		if math.IsNaN(u) || math.IsInf(u, 0) || (i > 0 && u <= buckets[i-1]) {
			d.err = fmt.Errorf("histogram %s: bucket bounds %v are not increasing and finite", name, buckets)
		}
	}
	if slices.Contains(labels, model.BucketLabel) {
		d.err = fmt.Errorf("histogram %s: label %q is the bucket label", name, model.BucketLabel)
	}
	return d
}

// Buckets returns a histogram's bucket upper bounds (nil for other types).
func (d *FamilyDesc) Buckets() []float64 { return d.buckets }

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
	samples []float64 // one value per sample (a histogram's: its sum)
	// hists are a histogram family's values, one per sample.
	hists []*dto.Histogram
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
	if d.typ == dto.MetricType_HISTOGRAM {
		b.drop(fmt.Errorf("histogram %s: a sample needs AddHistogram", d.name))
		return
	}
	b.add(d, v, labels)
}

// AddHistogram adds one series of d's histogram family: count
// observations summing to sum, cumulative[i] of them at or under d's i-th
// bucket bound. labels are as for Add. A value that is no histogram
// (a wrong number of buckets, counts that decrease or exceed count) is
// dropped and reported by Build's error.
func (b *FamilyBuilder) AddHistogram(d *FamilyDesc, count uint64, sum float64, cumulative []uint64, labels ...string) {
	switch {
	case d.typ != dto.MetricType_HISTOGRAM:
		b.drop(fmt.Errorf("metric %s: AddHistogram on a %s", d.name, d.typ))
		return
	case len(cumulative) != len(d.buckets):
		b.drop(fmt.Errorf("histogram %s: %d bucket counts for %d buckets", d.name, len(cumulative), len(d.buckets)))
		return
	}
	for i, c := range cumulative {
		if c > count || (i > 0 && c < cumulative[i-1]) {
			b.drop(fmt.Errorf("histogram %s: bucket counts %v of %d observations are not cumulative", d.name, cumulative, count))
			return
		}
	}
	f := b.add(d, sum, labels)
	if f == nil {
		return
	}
	// A few series per family (one per partition, say): one allocation
	// each is cheap, and the value is what the encoders read.
	h := &dto.Histogram{SampleCount: &count, SampleSum: &sum}
	bounds := make([]dto.Bucket, len(cumulative))
	counts := slices.Clone(cumulative)
	h.Bucket = make([]*dto.Bucket, len(cumulative))
	for i := range bounds {
		bounds[i] = dto.Bucket{CumulativeCount: &counts[i], UpperBound: &d.buckets[i]}
		h.Bucket[i] = &bounds[i]
	}
	f.hists = append(f.hists, h)
}

// add records one sample; it returns its family, nil when dropped.
func (b *FamilyBuilder) add(d *FamilyDesc, v float64, labels []string) *familySamples {
	if len(labels) != len(d.labels) {
		b.drop(fmt.Errorf("metric %s: %d label values for %d labels", d.name, len(labels), len(d.labels)))
		return nil
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
	return f
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
	return b.each(func(f *familySamples) { fn(b.build(f)) })
}

// each hands fn the samples of each family Build would return, in order,
// and then forgets them; it returns Build's error.
func (b *FamilyBuilder) each(fn func(*familySamples)) error {
	for _, f := range b.prepare() {
		fn(f)
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

// sorted returns the indexes of f's samples in the registry's order
// (CompareMetrics), a duplicate series dropped and reported.
func (b *FamilyBuilder) sorted(f *familySamples) []int32 {
	d := f.desc
	k, n := len(d.labels), len(f.samples)
	compare := func(x, y int32) int {
		for j := range k {
			if c := strings.Compare(f.value(int(x), j), f.value(int(y), j)); c != 0 {
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
	kept := order[:0]
	for at, i := range order {
		if at > 0 && compare(order[at-1], i) == 0 {
			b.drop(fmt.Errorf("metric %s: duplicate series %v", d.name, f.values[int(i)*k:int(i+1)*k]))
			continue
		}
		kept = append(kept, i)
	}
	return kept
}

// value is the j-th label value, in the order of the label names, of
// sample i.
func (f *familySamples) value(i, j int) string {
	k := len(f.desc.labels)
	return f.values[i*k+f.desc.byName[j]]
}

func (b *FamilyBuilder) build(f *familySamples) *dto.MetricFamily {
	d := f.desc
	k := len(d.labels)
	order := b.sorted(f)
	n := len(order)

	// Every metric's objects come from a few slices allocated at once.
	names := make([]*string, k)
	for j := range names {
		names[j] = &d.labels[d.byName[j]]
	}
	metrics := make([]dto.Metric, n)
	ptrs := make([]*dto.Metric, n)
	pairs := make([]*dto.LabelPair, n*k)
	var gauges []dto.Gauge
	var counters []dto.Counter
	switch d.typ {
	case dto.MetricType_COUNTER:
		counters = make([]dto.Counter, n)
	case dto.MetricType_GAUGE:
		gauges = make([]dto.Gauge, n)
	}
	for at, i := range order {
		m := &metrics[at]
		ls := pairs[at*k : (at+1)*k : (at+1)*k]
		for j := range k {
			ls[j] = b.pair(names[j], f.value(int(i), j))
		}
		m.Label = ls
		switch {
		case f.hists != nil:
			m.Histogram = f.hists[i]
		case counters != nil:
			c := &counters[at]
			c.Value = &f.samples[i]
			m.Counter = c
		default:
			g := &gauges[at]
			g.Value = &f.samples[i]
			m.Gauge = g
		}
		ptrs[at] = m
	}
	f.values = nil
	return &dto.MetricFamily{Name: &d.name, Help: &d.help, Type: d.typ.Enum(), Metric: ptrs}
}

// textChunk is the number of metrics eachTextChunk puts in one family.
var textChunk = 4096

// eachTextChunk hands f's metrics to fn in the registry's order as
// families of at most textChunk metrics each, all made of the same few
// reused objects: a text encoder writes them as one family once the HELP
// and TYPE lines of all chunks but the first are cut (encoder.encodeChunk).
// No dto object per series is built: at 100k jobs the running-jobs
// collector's largest family alone was about 70 MB of them. fn must not
// keep the family. The samples are released afterwards.
func (b *FamilyBuilder) eachTextChunk(f *familySamples, fn func(mf *dto.MetricFamily, first bool)) {
	d := f.desc
	k := len(d.labels)
	order := b.sorted(f)
	size := min(textChunk, len(order))
	metrics := make([]dto.Metric, size)
	ptrs := make([]*dto.Metric, size)
	pairs := make([]dto.LabelPair, size*k)
	pairPtrs := make([]*dto.LabelPair, size*k)
	values := make([]string, size*k)
	gauges := make([]dto.Gauge, size)
	counters := make([]dto.Counter, size)
	for at := range size {
		m := &metrics[at]
		m.Label = pairPtrs[at*k : (at+1)*k : (at+1)*k]
		for j := range k {
			p := &pairs[at*k+j]
			p.Name, p.Value = &d.labels[d.byName[j]], &values[at*k+j]
			m.Label[j] = p
		}
		switch d.typ {
		case dto.MetricType_COUNTER:
			m.Counter = &counters[at]
		case dto.MetricType_GAUGE:
			m.Gauge = &gauges[at]
		}
		ptrs[at] = m
	}
	mf := &dto.MetricFamily{Name: &d.name, Help: &d.help, Type: d.typ.Enum()}
	for start := 0; start < len(order); start += size {
		rows := order[start:min(start+size, len(order))]
		for at, i := range rows {
			for j := range k {
				values[at*k+j] = f.value(int(i), j)
			}
			v := &f.samples[i]
			switch d.typ {
			case dto.MetricType_COUNTER:
				counters[at].Value = v
			case dto.MetricType_GAUGE:
				gauges[at].Value = v
			case dto.MetricType_HISTOGRAM:
				metrics[at].Histogram = f.hists[i]
			}
		}
		mf.Metric = ptrs[:len(rows)]
		fn(mf, start == 0)
	}
	f.values, f.samples, f.hists = nil, nil, nil
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

// SendFamilies sends ready-built gauge, counter and histogram families as const
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
		case dto.MetricType_HISTOGRAM:
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
			var metric prometheus.Metric
			var err error
			if h := m.GetHistogram(); mf.GetType() == dto.MetricType_HISTOGRAM {
				buckets := make(map[float64]uint64, len(h.GetBucket()))
				for _, b := range h.GetBucket() {
					buckets[b.GetUpperBound()] = b.GetCumulativeCount()
				}
				metric, err = prometheus.NewConstHistogram(d, h.GetSampleCount(), h.GetSampleSum(), buckets, values...)
			} else {
				v := m.GetGauge().GetValue()
				if t == prometheus.CounterValue {
					v = m.GetCounter().GetValue()
				}
				metric, err = prometheus.NewConstMetric(d, t, v, values...)
			}
			if err != nil {
				e.drop(err)
				continue
			}
			e.ch <- metric
		}
	}
	return e.Err()
}
