package testkit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ParsePage decodes a page in the text exposition format into its families
// by name, as Prometheus's text parser reads it: a family that appears
// twice, a malformed line, or a name outside the classic character set
// ([a-zA-Z_:][a-zA-Z0-9_:]*, which every jobscope, Slurm and node_exporter
// name keeps to) is an error.
func ParsePage(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	return p.TextToMetricFamilies(r)
}

// DecodePage decodes a page in any exposition format (text through
// ParsePage, protobuf delimited) into its families, sorted by name.
func DecodePage(r io.Reader, format expfmt.Format) ([]*dto.MetricFamily, error) {
	var mfs []*dto.MetricFamily
	if format.FormatType() == expfmt.TypeTextPlain {
		byName, err := ParsePage(r)
		if err != nil {
			return nil, err
		}
		mfs = slices.Collect(maps.Values(byName))
	} else {
		dec := expfmt.NewDecoder(r, format)
		for {
			mf := &dto.MetricFamily{}
			if err := dec.Decode(mf); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, err
			}
			mfs = append(mfs, mf)
		}
	}
	slices.SortStableFunc(mfs, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return mfs, nil
}

// client bounds every scrape, so a hung exporter fails the test instead of
// stalling it.
var client = http.Client{Timeout: 10 * time.Second}

// Fetch GETs url (10 s at most) and returns the body; a status other than
// 200 is an error that carries the body.
func Fetch(url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return body, nil
}

// Scrape fetches a /metrics page at url and decodes it with ParsePage. It
// returns the body too, for tests that look at the bytes.
func Scrape(url string) (map[string]*dto.MetricFamily, []byte, error) {
	body, err := Fetch(url)
	if err != nil {
		return nil, nil, err
	}
	mfs, err := ParsePage(bytes.NewReader(body))
	return mfs, body, err
}
