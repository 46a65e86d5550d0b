package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func mustLookup(t *testing.T, v string) Release {
	t.Helper()
	rel, err := Lookup(v)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

func TestCatalog(t *testing.T) {
	commit := regexp.MustCompile(`^[0-9a-f]{40}$`)
	image := regexp.MustCompile(`^[^\s@]+@sha256:[0-9a-f]{64}$`)
	seen := map[string]bool{}
	for _, r := range Catalog {
		if !commit.MatchString(r.Commit) || !image.MatchString(r.Image) {
			t.Errorf("%s: commit %q / image %q not pinned the way a runbook needs", r.Version, r.Commit, r.Image)
		}
		if seen[r.Commit] {
			t.Errorf("%s: commit %s repeats", r.Version, r.Commit)
		}
		seen[r.Commit] = true
	}
	if _, err := Lookup("9.9.9"); err == nil || !strings.Contains(err.Error(), "1.0.0, 1.1.0, 1.1.1") {
		t.Errorf("Lookup(9.9.9) = %v, want the known versions listed", err)
	}
	if got := mustLookup(t, "1.1.1").ErrorRatio; got != 0.08 {
		t.Errorf("faulty release error ratio = %v, want 0.08", got)
	}
}

func TestShopEndpoints(t *testing.T) {
	rel := mustLookup(t, "1.1.0")
	srv := httptest.NewServer(NewShop(rel, ShopOptions{Track: "canary"}))
	defer srv.Close()
	cases := []struct {
		name, method, path, body string
		code                     int
		contentType, contains    string
	}{
		{"home", "GET", "/", "", 200, "text/html", "release 1.1.0"},
		{"products", "GET", "/products", "", 200, "application/json", `"id":"tea"`},
		{"product", "GET", "/products/mug", "", 200, "application/json", `"Stoneware mug"`},
		{"unknown product", "GET", "/products/cup", "", 404, "application/json", `no product \"cup\"`},
		{"cart", "POST", "/cart", `{"id":"pot","qty":2}`, 200, "application/json", `"total":96`},
		{"bad cart", "POST", "/cart", `{"qty":0}`, 400, "application/json", "expected"},
		{"checkout", "POST", "/checkout", "", 200, "application/json", `"status":"confirmed"`},
		{"version", "GET", "/version", "", 200, "application/json", `"commit":"` + rel.Commit + `"`},
		{"health", "GET", "/healthz", "", 200, "application/health+json", `"status":"pass"`},
		{"wrong method", "DELETE", "/cart", "", 405, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.contentType)
			}
			if !strings.Contains(string(body), tc.contains) {
				t.Errorf("body %s does not contain %s", body, tc.contains)
			}
		})
	}
}

func TestVersionDocument(t *testing.T) {
	rel := mustLookup(t, "1.0.0")
	rec := httptest.NewRecorder()
	NewShop(rel, ShopOptions{Track: "stable"}).ServeHTTP(rec, httptest.NewRequest("GET", "/version", nil))
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	// gatekeeper's version collector reads commit and image (the runbook's default
	// version_path and image_path) and the top-level version.
	want := map[string]string{"service": "demo-shop", "version": "1.0.0", "commit": rel.Commit, "image": rel.Image, "track": "stable"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// The faulty release fails exactly its ratio of shop requests, spread evenly, and never the
// endpoints gatekeeper probes.
func TestFaultRatio(t *testing.T) {
	cases := []struct {
		name    string
		version string
		ratio   float64
		n       int
		want    int
	}{
		{"healthy", "1.1.0", -1, 1000, 0},
		{"faulty", "1.1.1", -1, 1000, 80},
		{"override", "1.1.0", 0.5, 100, 50},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rel := mustLookup(t, tc.version)
			if tc.ratio >= 0 {
				rel.ErrorRatio = tc.ratio
			}
			shop := NewShop(rel, ShopOptions{Track: "canary"})
			failed, firstFail, maxGap, last := 0, 0, 0, 0
			for i := 1; i <= tc.n; i++ {
				rec := httptest.NewRecorder()
				shop.ServeHTTP(rec, httptest.NewRequest("GET", "/products", nil))
				if rec.Code == http.StatusInternalServerError {
					failed++
					if firstFail == 0 {
						firstFail = i
					}
					maxGap, last = max(maxGap, i-last), i
				}
				for _, probe := range []string{"/version", "/healthz", "/metrics"} {
					rec := httptest.NewRecorder()
					shop.ServeHTTP(rec, httptest.NewRequest("GET", probe, nil))
					if rec.Code != http.StatusOK {
						t.Fatalf("%s: status %d", probe, rec.Code)
					}
				}
			}
			if failed != tc.want {
				t.Fatalf("%d of %d requests failed, want %d", failed, tc.n, tc.want)
			}
			if tc.version == "1.1.1" {
				// A smoke run of a dozen requests passes; any 13 consecutive requests hold a failure.
				if firstFail != 13 || maxGap > 13 {
					t.Errorf("first failure at request %d, largest gap %d; want 13 and <= 13", firstFail, maxGap)
				}
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	rel := mustLookup(t, "1.1.1")
	shop := NewShop(rel, ShopOptions{Track: "canary"})
	for range 25 {
		shop.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/products", nil))
	}
	rec := httptest.NewRecorder()
	shop.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, m := range fams["http_requests_total"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		if l["track"] != "canary" || l["version"] != "1.1.1" || l["method"] == "" {
			t.Errorf("labels %v: want track, version, handler and method", l)
		}
		if l["handler"] == "products" {
			counts[l["code"]] = m.GetCounter().GetValue()
			continue
		}
		// Every other handler's 200 and 500 series exist at 0 before any request.
		if v := m.GetCounter().GetValue(); v != 0 || (l["code"] != "200" && l["code"] != "500") {
			t.Errorf("%v = %v, want an initialized 200 or 500 series at 0", l, v)
		}
	}
	if counts["200"] != 23 || counts["500"] != 2 {
		t.Errorf("http_requests_total by code = %v, want 200:23 500:2", counts)
	}
	h := fams["http_request_duration_seconds"]
	if h == nil || len(h.GetMetric()) != 1 || h.GetMetric()[0].GetHistogram().GetSampleCount() != 25 {
		t.Errorf("http_request_duration_seconds: want one histogram with 25 samples, got %v", h)
	}
	if fams["demo_shop_build_info"] == nil {
		t.Error("demo_shop_build_info missing")
	}
}
