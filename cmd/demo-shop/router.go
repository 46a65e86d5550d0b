package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// WeightPath is the router's admin endpoint: GET reads, PUT sets the canary's share of traffic
// in percent. Paths under /-/ are the router's own and never proxied.
const WeightPath = "/-/weight"

// Router splits traffic between the stable and the canary cohort by a weight the shift hook
// sets, so a canary step's percentage is real traffic rather than a label.
type Router struct {
	stable, canary http.Handler
	mu             sync.Mutex
	weight         int    // canary percent, 0..100
	n              uint64 // requests routed since the weight was set
	routed         *prometheus.CounterVec
	handler        http.Handler
}

// NewRouter returns a router sending weight percent of requests to canary, the rest to stable.
func NewRouter(stable, canary *url.URL, weight int) (*Router, error) {
	if err := checkWeight(weight); err != nil {
		return nil, err
	}
	rt := &Router{stable: proxy(stable), canary: proxy(canary), weight: weight}
	reg := prometheus.NewRegistry()
	rt.routed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "demo_router_requests_total",
		Help: "Requests the router sent to each cohort.",
	}, []string{"backend"})
	weightGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "demo_router_canary_weight_percent",
		Help: "The canary's share of traffic, in percent.",
	}, func() float64 { return float64(rt.Weight()) })
	reg.MustRegister(rt.routed, weightGauge)

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+WeightPath, rt.getWeight)
	mux.HandleFunc("PUT "+WeightPath, rt.putWeight)
	mux.HandleFunc("GET /-/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, "application/health+json", http.StatusOK, map[string]string{"status": "pass"})
	})
	mux.Handle("GET /-/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", rt.route)
	rt.handler = mux
	return rt, nil
}

func proxy(u *url.URL) http.Handler {
	p := httputil.NewSingleHostReverseProxy(u)
	p.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, "bad gateway: "+err.Error(), http.StatusBadGateway)
	}
	return p
}

func checkWeight(w int) error {
	if w < 0 || w > 100 {
		return fmt.Errorf("canary weight %d: must be a percentage from 0 to 100", w)
	}
	return nil
}

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.handler.ServeHTTP(w, r) }

// Weight returns the canary's current share of traffic in percent.
func (rt *Router) Weight() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.weight
}

// SetWeight sets the canary's share of traffic in percent.
func (rt *Router) SetWeight(w int) error {
	if err := checkWeight(w); err != nil {
		return err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.weight, rt.n = w, 0
	return nil
}

// pick spreads the canary's requests evenly: request n goes to the canary when n×weight/100
// crosses an integer, so any 100 consecutive requests hold exactly weight canary requests.
func (rt *Router) pick() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	n := rt.n
	rt.n++
	return (n+1)*uint64(rt.weight)/100 > n*uint64(rt.weight)/100
}

func (rt *Router) route(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/-/") {
		http.NotFound(w, r)
		return
	}
	if rt.pick() {
		rt.routed.WithLabelValues("canary").Inc()
		rt.canary.ServeHTTP(w, r)
		return
	}
	rt.routed.WithLabelValues("stable").Inc()
	rt.stable.ServeHTTP(w, r)
}

type weightDoc struct {
	Canary *int `json:"canary"`
}

func (rt *Router) getWeight(w http.ResponseWriter, _ *http.Request) {
	c := rt.Weight()
	writeJSON(w, "application/json", http.StatusOK, weightDoc{Canary: &c})
}

// putWeight takes {"canary": N} or a bare number.
func (rt *Router) putWeight(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1024))
	if err == nil {
		var c int
		c, err = parseWeight(body)
		if err == nil {
			err = rt.SetWeight(c)
		}
	}
	if err != nil {
		writeJSON(w, "application/json", http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	rt.getWeight(w, r)
}

func parseWeight(body []byte) (int, error) {
	body = bytes.TrimSpace(body)
	if n, err := strconv.Atoi(string(body)); err == nil {
		return n, nil
	}
	var d weightDoc
	if err := json.Unmarshal(body, &d); err != nil || d.Canary == nil {
		return 0, fmt.Errorf(`weight: expected {"canary": N} or a bare number, got %q`, snippet(body))
	}
	return *d.Canary, nil
}

func snippet(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}

// SetRouterWeight asks the router at base to send percent of traffic to the canary and returns
// the weight the router confirms.
func SetRouterWeight(ctx context.Context, base string, percent int) (int, error) {
	if err := checkWeight(percent); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimRight(base, "/")+WeightPath, strings.NewReader(strconv.Itoa(percent)))
	if err != nil {
		return 0, fmt.Errorf("set weight: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("set weight: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("set weight: router answered %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	var d weightDoc
	if err := json.Unmarshal(body, &d); err != nil || d.Canary == nil {
		return 0, errors.New("set weight: router answered without a weight")
	}
	return *d.Canary, nil
}
