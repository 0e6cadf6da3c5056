package testkit

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
)

func TestParsePage(t *testing.T) {
	mfs, err := ParsePage(strings.NewReader("# TYPE a_total counter\na_total{x=\"1\"} 2\nb 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 2 || mfs["a_total"].GetMetric()[0].GetCounter().GetValue() != 2 {
		t.Errorf("families %v", mfs)
	}
	for _, bad := range []string{
		"# TYPE a gauge\na 1\n# TYPE a gauge\na 2\n", // a family twice
		"{\"a.b\"} 1\n", // a UTF-8 name
		"a 1 2 3\n",     // malformed
	} {
		if _, err := ParsePage(strings.NewReader(bad)); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.Error(w, "no such page", http.StatusNotFound)
			return
		}
		w.Write([]byte("up 1\n"))
	}))
	defer srv.Close()
	mfs, body, err := Scrape(srv.URL + "/metrics")
	if err != nil || string(body) != "up 1\n" || mfs["up"] == nil {
		t.Errorf("Scrape = %v, %q, %v", mfs, body, err)
	}
	if _, _, err := Scrape(srv.URL + "/other"); err == nil || !strings.Contains(err.Error(), "no such page") {
		t.Errorf("Scrape of a 404 = %v, want an error carrying the body", err)
	}
}

// TestDecodePage reads one page written in both formats to the same
// families, in name order.
func TestDecodePage(t *testing.T) {
	in, err := ParsePage(strings.NewReader("# TYPE b gauge\nb 2\n# TYPE a counter\na 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []expfmt.Format{expfmt.NewFormat(expfmt.TypeTextPlain), expfmt.NewFormat(expfmt.TypeProtoDelim)} {
		var buf bytes.Buffer
		enc := expfmt.NewEncoder(&buf, format)
		for _, name := range []string{"b", "a"} {
			if err := enc.Encode(in[name]); err != nil {
				t.Fatal(err)
			}
		}
		mfs, err := DecodePage(&buf, format)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(mfs) != 2 || mfs[0].GetName() != "a" || mfs[1].GetName() != "b" || mfs[1].GetMetric()[0].GetGauge().GetValue() != 2 {
			t.Errorf("%s: decoded %v", format, mfs)
		}
	}
	if _, err := DecodePage(strings.NewReader("\x05garbage"), expfmt.NewFormat(expfmt.TypeProtoDelim)); err == nil {
		t.Error("a broken protobuf page decoded without error")
	}
}

func TestFreeAddr(t *testing.T) {
	addr := FreeAddr(t)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("FreeAddr gave %s, which cannot be bound: %v", addr, err)
	}
	l.Close()
}
