package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// cohorts starts a stable and a canary shop and a router in front of them.
func cohorts(t *testing.T, weight int) (router *httptest.Server, rt *Router) {
	t.Helper()
	stable := httptest.NewServer(NewShop(mustLookup(t, "1.0.0"), ShopOptions{Track: "stable"}))
	canary := httptest.NewServer(NewShop(mustLookup(t, "1.1.0"), ShopOptions{Track: "canary"}))
	t.Cleanup(stable.Close)
	t.Cleanup(canary.Close)
	su, _ := url.Parse(stable.URL)
	cu, _ := url.Parse(canary.URL)
	rt, err := NewRouter(su, cu, weight)
	if err != nil {
		t.Fatal(err)
	}
	router = httptest.NewServer(rt)
	t.Cleanup(router.Close)
	return router, rt
}

func trackOf(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/version")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	switch {
	case bytes.Contains(b, []byte(`"track":"canary"`)):
		return "canary"
	case bytes.Contains(b, []byte(`"track":"stable"`)):
		return "stable"
	}
	t.Fatalf("no track in %s", b)
	return ""
}

func TestRouterSplit(t *testing.T) {
	router, rt := cohorts(t, 0)
	for _, weight := range []int{0, 5, 25, 100} {
		t.Run("weight "+strconv.Itoa(weight), func(t *testing.T) {
			got, err := SetRouterWeight(context.Background(), router.URL, weight)
			if err != nil || got != weight {
				t.Fatalf("SetRouterWeight(%d) = %d, %v", weight, got, err)
			}
			canary := 0
			for range 200 {
				if trackOf(t, router.URL) == "canary" {
					canary++
				}
			}
			// Exact, not approximate: the split is deterministic.
			if want := 2 * weight; canary != want {
				t.Errorf("%d of 200 requests reached the canary, want %d", canary, want)
			}
			if rt.Weight() != weight {
				t.Errorf("Weight() = %d", rt.Weight())
			}
		})
	}
}

func TestRouterWeightAPI(t *testing.T) {
	router, rt := cohorts(t, 10)
	cases := []struct {
		name, body string
		code       int
		want       int
		contains   string
	}{
		{"bare number", "25", 200, 25, `"canary":25`},
		{"json", `{"canary": 50}`, 200, 50, `"canary":50`},
		{"above 100", "150", 400, 50, "must be a percentage from 0 to 100"},
		{"negative", "-1", 400, 50, "must be a percentage"},
		{"garbage", "half", 400, 50, `expected {\"canary\": N}`},
		{"json without canary", `{"stable": 50}`, 400, 50, "expected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, router.URL+WeightPath, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.contains) {
				t.Errorf("PUT %s: %d %s; want %d containing %s", tc.body, resp.StatusCode, b, tc.code, tc.contains)
			}
			if rt.Weight() != tc.want {
				t.Errorf("weight %d, want %d", rt.Weight(), tc.want)
			}
		})
	}
	// The router's own paths are never proxied.
	resp, err := http.Get(router.URL + "/-/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/-/nothing: %d, want 404", resp.StatusCode)
	}
	if _, err := SetRouterWeight(context.Background(), router.URL, 101); err == nil {
		t.Error("SetRouterWeight(101) succeeded")
	}
}

func TestRouterCanaryDown(t *testing.T) {
	stable := httptest.NewServer(NewShop(mustLookup(t, "1.0.0"), ShopOptions{Track: "stable"}))
	defer stable.Close()
	su, _ := url.Parse(stable.URL)
	cu, _ := url.Parse("http://127.0.0.1:1")
	rt, err := NewRouter(su, cu, 100)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	rt.ServeHTTP(rec, httptest.NewRequest("GET", "/products", nil))
	if rec.Code != http.StatusBadGateway {
		t.Errorf("status %d with the canary down, want 502", rec.Code)
	}
	if _, err := NewRouter(su, cu, -5); err == nil {
		t.Error("NewRouter accepted weight -5")
	}
}
