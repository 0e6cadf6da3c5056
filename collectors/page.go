package collectors

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// FamilySet is one immutable result of a FamilySetCollector: families as
// FamilySetCollector describes them, and their encoding per exposition format,
// plain or gzip-compressed, built on the first request for it and kept
// with the set. At 1.25M series the text page is 88 MB: encoding it took
// 0.35-0.6 s per scrape, compressing it 1-1.5 s more, for the same bytes
// until the next poll (see docs/performance.md).
type FamilySet struct {
	// names and series are each family's name and number of metrics,
	// kept when the families are released (GatherPage's name check,
	// SizeLikeSet).
	names  []string
	series []int
	// perScrape marks families built for one scrape
	// (NewScrapeFamilySet): GatherPage writes them with the fresh ones.
	perScrape bool

	mu sync.Mutex
	// mfs are the families; nil once released (Release) until a reader
	// asks for them again, then rebuilt by rebuild for that reader alone.
	mfs     []*dto.MetricFamily
	rebuild func() []*dto.MetricFamily
	// pending holds the samples of a streamed set's families until Warm
	// builds them one at a time (NewStreamedFamilySet).
	pending *FamilyBuilder
	encoded map[encodingKey]*encodedFamilies
	// asked are the encodings scrapes asked for, warm those WarmLike
	// named.
	asked, warm []encodingKey
}

type encodingKey struct {
	format expfmt.Format
	gzip   bool
}

// encodedFamilies is one encoding of a set, built once under mu: a scrape
// asking for it while Warm builds it waits for it.
type encodedFamilies struct {
	mu   sync.Mutex
	done bool
	b    []byte
	err  error
}

// encoder encodes families into one cached encoding.
type encoder struct {
	buf  bytes.Buffer
	gz   *gzipCompressor
	out  io.Writer // buf, or gz over it
	enc  expfmt.Encoder
	errs []error
	// text is true for the text format, whose families encodeChunk can
	// write in pieces: chunk and chunkEnc encode one piece.
	text     bool
	chunk    bytes.Buffer
	chunkEnc expfmt.Encoder
}

func newEncoder(k encodingKey) *encoder {
	e := &encoder{}
	e.out = &e.buf
	if k.gzip {
		e.gz = newGzipWriter(&e.buf)
		e.out = e.gz
	}
	e.enc = expfmt.NewEncoder(e.out, k.format)
	if k.format.FormatType() == expfmt.TypeTextPlain {
		e.text = true
		e.chunkEnc = expfmt.NewEncoder(&e.chunk, k.format)
	}
	return e
}

// encodeChunk encodes part of a family in the text format (see
// FamilyBuilder.eachTextChunk): a part but the first loses the "# HELP"
// and "# TYPE" lines the encoder writes for every family, so that the
// parts read as one family, byte for byte what encode writes for the whole.
func (e *encoder) encodeChunk(mf *dto.MetricFamily, first bool) {
	e.chunk.Reset()
	if err := e.chunkEnc.Encode(mf); err != nil {
		e.errs = append(e.errs, fmt.Errorf("encoding %s: %w", mf.GetName(), err))
		return
	}
	b := e.chunk.Bytes()
	if !first {
		// A help text's newlines are escaped: the header is two lines.
		for range 2 {
			b = b[bytes.IndexByte(b, '\n')+1:]
		}
	}
	if _, err := e.out.Write(b); err != nil {
		e.errs = append(e.errs, fmt.Errorf("encoding %s: %w", mf.GetName(), err))
	}
}

// encode encodes mf; like promhttp, a family that fails to encode is
// skipped and reported.
func (e *encoder) encode(mf *dto.MetricFamily) {
	if err := e.enc.Encode(mf); err != nil {
		e.errs = append(e.errs, fmt.Errorf("encoding %s: %w", mf.GetName(), err))
	}
}

// finish stores the encoding in f.
func (e *encoder) finish(f *encodedFamilies) {
	if e.gz != nil {
		e.errs = append(e.errs, e.gz.Close())
	}
	// An exact-size copy: the buffer grew by doubling, and its slack
	// (up to 40 MB on an 88 MB page) would be kept with the set.
	f.b, f.err, f.done = bytes.Clone(e.buf.Bytes()), errors.Join(e.errs...), true
}

// NewFamilySet wraps families (see FamilySetCollector) into a set.
func NewFamilySet(mfs []*dto.MetricFamily) *FamilySet {
	s := &FamilySet{mfs: mfs, names: make([]string, len(mfs)), series: make([]int, len(mfs))}
	for i, mf := range mfs {
		s.names[i], s.series[i] = mf.GetName(), len(mf.Metric)
	}
	return s
}

// NewScrapeFamilySet is NewFamilySet for families built for one scrape
// only (the node agent's collectors read live data every scrape): no
// other scrape reads their encoding, so GatherPage merges them into the
// scrape's fresh families rather than caching it. A cached encoding
// filled and read once cost a buffer grown by doubling and its copy per
// set and scrape, and with gzip a compressor per set (about 1 MB of state
// each) instead of the one the fresh part reuses.
func NewScrapeFamilySet(mfs []*dto.MetricFamily) *FamilySet {
	s := NewFamilySet(mfs)
	s.perScrape = true
	return s
}

// NewReleasableFamilySet is NewFamilySet for families that rebuild can
// build again, identical, whenever asked: Release may then drop them once
// their encodings exist. At 1.25M series the families are about 230 MB of
// heap, the gzipped text page 6 MB; keeping both doubled the exporter's
// memory for readers that are rare (OTLP push, a format not cached, a
// name[] filter), which now pay a rebuild instead (see
// docs/performance.md).
func NewReleasableFamilySet(mfs []*dto.MetricFamily, rebuild func() []*dto.MetricFamily) *FamilySet {
	s := NewFamilySet(mfs)
	s.rebuild = rebuild
	return s
}

// NewStreamedFamilySet is NewReleasableFamilySet for families not built
// yet: b holds their samples, and the first Warm builds them one family at
// a time, each encoded into the warmed formats and dropped before the
// next. At 100k jobs the running-jobs collector's families are about
// 200 MB of dto objects, its largest family alone a third of that. A
// reader that needs the families themselves gets them from rebuild.
func NewStreamedFamilySet(b *FamilyBuilder, rebuild func() []*dto.MetricFamily) *FamilySet {
	s := &FamilySet{pending: b, rebuild: rebuild}
	s.names, s.series = b.Names()
	return s
}

// Families returns the set's families, rebuilt if they were released; nil
// for a nil set.
func (s *FamilySet) Families() []*dto.MetricFamily {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	mfs := s.mfs
	s.mu.Unlock()
	if mfs == nil && s.rebuild != nil && len(s.names) > 0 {
		mfs = s.rebuild()
	}
	return mfs
}

// Release drops the families of a set made by NewReleasableFamilySet; its
// cached encodings stay. Other sets keep them.
func (s *FamilySet) Release() {
	if s.rebuild == nil {
		return
	}
	s.mu.Lock()
	s.mfs = nil
	s.mu.Unlock()
}

// SizeLikeSet is SizeLike for the families of a set, released or not.
func (b *FamilyBuilder) SizeLikeSet(s *FamilySet) {
	if s == nil {
		return
	}
	b.hints = make(map[string]int, len(s.names))
	for i, name := range s.names {
		b.hints[name] = s.series[i]
	}
}

// textFormat is what Prometheus negotiates with jobscope's exporters
// (OpenMetrics is not offered), escaping included.
var textFormat = expfmt.NegotiateAccept(http.Header{}, expfmt.DefaultAcceptedFormats()...)

// WarmLike makes Warm build the encodings that scrapes asked of prev (the
// formats the scrapers of the previous poll negotiated), those prev warmed
// when no scrape came, or the gzipped text format for the first set. A
// format asked once (curl without gzip: 88 MB at 100k jobs) is thus not
// built again for every later poll.
func (s *FamilySet) WarmLike(prev *FamilySet) {
	var keys []encodingKey
	if prev != nil {
		prev.mu.Lock()
		keys = prev.asked
		if len(keys) == 0 {
			keys = prev.warm
		}
		prev.mu.Unlock()
	}
	if len(keys) == 0 {
		keys = []encodingKey{{textFormat, true}}
	}
	s.mu.Lock()
	s.warm = keys
	s.mu.Unlock()
}

// Warm builds the encodings WarmLike named, so that no scrape waits for
// them, then releases the families (Release). A streamed set builds its
// families here one at a time, each encoded into every warmed format and
// dropped before the next. It returns the first encoding error.
func (s *FamilySet) Warm() error {
	s.mu.Lock()
	keys := s.warm
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	var errs []error
	if pending != nil {
		errs = append(errs, s.stream(pending, keys))
	}
	for _, k := range keys {
		_, err := s.encoding(k, false)
		errs = append(errs, err)
	}
	s.Release()
	return errors.Join(errs...)
}

// stream builds the families of b one at a time into the encodings keys
// that are not built yet. Those encodings are locked meanwhile, in keys'
// order, so that a scrape asking for one waits instead of building the
// families a second time. A build error (dropped samples) is the error of
// every encoding built.
func (s *FamilySet) stream(b *FamilyBuilder, keys []encodingKey) error {
	var todo []*encodedFamilies
	var encs []*encoder
	for _, k := range keys {
		e := s.entry(k, false)
		e.mu.Lock()
		defer e.mu.Unlock()
		if !e.done {
			todo = append(todo, e)
			encs = append(encs, newEncoder(k))
		}
	}
	// Text encodings are written from the sorted samples through a few
	// reused objects; the dto objects of a whole family (about 70 MB for
	// running-jobs' largest at 100k jobs) are built only for another
	// format.
	text := !slices.ContainsFunc(encs, func(e *encoder) bool { return !e.text })
	err := b.each(func(f *familySamples) {
		if text {
			b.eachTextChunk(f, func(mf *dto.MetricFamily, first bool) {
				for _, enc := range encs {
					enc.encodeChunk(mf, first)
				}
			})
			return
		}
		mf := b.build(f)
		for _, enc := range encs {
			enc.encode(mf)
		}
	})
	for i, enc := range encs {
		enc.errs = append(enc.errs, err)
		enc.finish(todo[i])
	}
	return err
}

// cacheable reports whether a format's encoding of a set can be cached and
// written next to other families: each family's encoding stands alone
// (text, delimited protobuf), unlike OpenMetrics' final "# EOF".
func cacheable(f expfmt.Format) bool {
	t := f.FormatType()
	return t == expfmt.TypeTextPlain || t == expfmt.TypeProtoDelim
}

// entry returns the cache entry of encoding k, made on first use; a
// scrape's request is remembered for WarmLike.
func (s *FamilySet) entry(k encodingKey, scrape bool) *encodedFamilies {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.encoded == nil {
		s.encoded = map[encodingKey]*encodedFamilies{}
	}
	if scrape && !slices.Contains(s.asked, k) {
		s.asked = append(s.asked, k)
	}
	e, ok := s.encoded[k]
	if !ok {
		e = &encodedFamilies{}
		s.encoded[k] = e
	}
	return e
}

// encoding returns the set's families encoded as k asks, built once; a
// scrape asks for it. Like promhttp, a family that fails to encode is
// skipped and reported.
func (s *FamilySet) encoding(k encodingKey, scrape bool) ([]byte, error) {
	e := s.entry(k, scrape)
	// A streamed set not warmed yet (a scrape came before Prebuild got to
	// it) builds its families one at a time now, for the warmed encodings
	// and this one, instead of all at once through rebuild.
	s.mu.Lock()
	pending, keys := s.pending, s.warm
	s.pending = nil
	s.mu.Unlock()
	if pending != nil {
		if !slices.Contains(keys, k) {
			keys = append(keys[:len(keys):len(keys)], k)
		}
		s.stream(pending, keys) // its error is each encoding's
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.done {
		enc := newEncoder(k)
		for _, mf := range s.Families() {
			enc.encode(mf)
		}
		enc.finish(e)
	}
	return e.b, e.err
}

// idleGzip keeps the compressor of the fresh part of pages between
// scrapes: 1.2 MB of state for compress/gzip at BestSpeed (0.65 MB of it
// compress/flate's hash arrays, which that level never uses), 0.82 MB for
// the full binary's klauspost/compress (gzipCompressor). Not a sync.Pool,
// as promhttp has: the GC empties a pool within two cycles, and the node
// agent's heap reaches its 4 MB GC target every one or two scrapes, so 4
// scrapes in 10 built a new compressor, 1.2 MB of the 1.8 MB a scrape
// allocated, which brought the next GC sooner. One is kept: scrapes of one
// Prometheus are serial and an HA pair's rarely overlap; a second one kept
// after the first overlap would stay in the live heap for good (1.2 MB,
// the GC target twice that), while a compressor of an overlapping scrape
// is left to the GC.
var idleGzip = make(chan *gzipCompressor, 1)

// gzipWriter returns an idle compressor writing to w, or a new one.
func gzipWriter(w io.Writer) *gzipCompressor {
	select {
	case zw := <-idleGzip:
		zw.Reset(w)
		return zw
	default:
		return newGzipWriter(w)
	}
}

// putGzipWriter keeps zw for the next scrape unless one is idle already.
func putGzipWriter(zw *gzipCompressor) {
	zw.Reset(io.Discard) // not to keep the response writer
	select {
	case idleGzip <- zw:
	default:
	}
}

// gzipLevel is the compression of every gzip page, cached or fresh:
// BestSpeed in compress/gzip and klauspost/compress/gzip alike
// (newGzipWriter, chosen by build tag: gzip_full.go, gzip_nodeonly.go). At
// the default level gzip was 13 % of the node agent's CPU per scrape and
// about 0.5 s of CPU per poll for the slurm page at 100k jobs; BestSpeed
// takes a third of that for a page 21 % larger (6.0 -> 7.3 MB at 100k
// jobs), and brings the node agent's InfiniBand scrape to node_exporter's
// CPU (docs/performance.md, BenchmarkPageGzipLevel).
const gzipLevel = 1

// Page is one scrape as /metrics writes it (Gathering.GatherPage): the
// families gathered for this scrape, and the sets whose cached encoding
// follows them. Families of different collectors have different names, so
// the page is valid in any order of the parts; the text exposition does not
// order families, and delimited protobuf is a sequence of families.
type Page struct {
	Families []*dto.MetricFamily
	Sets     []*FamilySet
}

// Empty reports whether the page has no family.
func (p *Page) Empty() bool { return len(p.Families) == 0 && len(p.Sets) == 0 }

// Write writes the page to w in format, gzip-compressed when gz. The fresh
// families are encoded (and compressed) now; each set's encoding comes from
// its cache. A gzip page is then several gzip members, which RFC 1952
// allows and Go's gzip.Reader (Prometheus' scraper) reads as one stream.
// Formats whose encoding cannot be cached are encoded in one piece. Like
// promhttp, a family that fails to encode is skipped, and the errors are
// returned.
func (p *Page) Write(w io.Writer, format expfmt.Format, gz bool) error {
	fresh := p.Families
	if !cacheable(format) {
		for _, set := range p.Sets {
			fresh = append(fresh[:len(fresh):len(fresh)], set.Families()...)
		}
	}
	var errs []error
	out := w
	var zw *gzipCompressor
	if gz {
		zw = gzipWriter(w)
		defer putGzipWriter(zw)
		out = zw
	}
	enc := expfmt.NewEncoder(out, format)
	for _, mf := range fresh {
		if err := enc.Encode(mf); err != nil {
			errs = append(errs, fmt.Errorf("encoding %s: %w", mf.GetName(), err))
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		errs = append(errs, c.Close())
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	if !cacheable(format) {
		return errors.Join(errs...)
	}
	for _, set := range p.Sets {
		b, err := set.encoding(encodingKey{format, gz}, true)
		errs = append(errs, err)
		if _, err := w.Write(b); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	return errors.Join(errs...)
}
