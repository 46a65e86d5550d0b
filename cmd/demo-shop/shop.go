package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ShopOptions configure NewShop.
type ShopOptions struct {
	// Track is the cohort label value every metric carries (track="canary" or "stable"): the
	// label the runbook's cohort_label selects.
	Track string
	// Latency is the simulated work per shop request; each request takes between Latency and
	// twice it, so the p95 is real but predictable.
	Latency time.Duration
}

// Shop is one running demo-shop instance: the shop endpoints, /version, /healthz and /metrics.
type Shop struct {
	rel     Release
	opts    ShopOptions
	fault   *fault
	seq     atomic.Uint64
	handler http.Handler
}

type product struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

var products = []product{
	{ID: "tea", Name: "Green tea, 100 g", Price: 6.5},
	{ID: "mug", Name: "Stoneware mug", Price: 14},
	{ID: "pot", Name: "Cast-iron teapot", Price: 48},
}

// NewShop returns the handler of one instance serving release rel.
func NewShop(rel Release, o ShopOptions) *Shop {
	s := &Shop{rel: rel, opts: o, fault: newFault(rel.ErrorRatio)}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The cohort and version sit on every series, so one query tells canary from stable.
	labelled := prometheus.WrapRegistererWith(prometheus.Labels{"track": o.Track, "version": rel.Version}, reg)
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "Shop requests served, by handler, method and status code.",
	}, []string{"handler", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Latency of shop requests, by handler and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"handler", "method"})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "demo_shop_build_info",
		Help: "The build this instance serves (always 1).",
	}, []string{"commit", "image"})
	labelled.MustRegister(requests, duration, build)
	build.WithLabelValues(rel.Commit, rel.Image).Set(1)

	mux := http.NewServeMux()
	shop := func(pattern, name string, h http.HandlerFunc) {
		// The success and the error series exist from the start at 0, as Prometheus advises
		// for label values known in advance: a healthy instance's error ratio is then 0, not
		// an empty result that reads as "no data".
		method, _, _ := strings.Cut(pattern, " ")
		for _, code := range []string{"200", "500"} {
			requests.WithLabelValues(name, strings.ToLower(method), code)
		}
		l := prometheus.Labels{"handler": name}
		var inner http.Handler = s.work(s.faulty(h))
		inner = promhttp.InstrumentHandlerDuration(duration.MustCurryWith(l), inner)
		inner = promhttp.InstrumentHandlerCounter(requests.MustCurryWith(l), inner)
		mux.Handle(pattern, inner)
	}
	shop("GET /{$}", "home", s.home)
	shop("GET /products", "products", s.listProducts)
	shop("GET /products/{id}", "product", s.product)
	shop("POST /cart", "cart", s.cart)
	shop("POST /checkout", "checkout", s.checkout)
	mux.HandleFunc("GET /version", s.version)
	mux.HandleFunc("GET /healthz", s.health)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s.handler = mux
	return s
}

// ServeHTTP implements http.Handler.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// fault fails a fixed share of requests, spread evenly rather than at random: request n fails
// when the running sum of the ratio crosses an integer. Any run of 1/ratio requests then holds
// a failure, so a short rate window shows the ratio instead of a lucky zero, and the first
// failure comes only after about 1/ratio requests (a handful of smoke requests pass, as they
// would against a build whose fault shows under load).
type fault struct {
	ppm uint64 // the ratio in parts per million: integers, so 25 × 8% is exactly 2 failures
	mu  sync.Mutex
	n   uint64
}

func newFault(ratio float64) *fault { return &fault{ppm: uint64(math.Round(ratio * 1e6))} }

func (f *fault) fail() bool {
	if f.ppm == 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return f.n*f.ppm/1e6 > (f.n-1)*f.ppm/1e6
}

func (s *Shop) faulty(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.fault.fail() {
			http.Error(w, "internal error: inventory lookup failed", http.StatusInternalServerError)
			return
		}
		h(w, r)
	}
}

// work simulates the request's work: between Latency and twice it, cycling in tenths.
func (s *Shop) work(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := s.opts.Latency; d > 0 {
			n := s.seq.Add(1)
			time.Sleep(d + d*time.Duration(n%10)/10)
		}
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, contentType string, code int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Shop) home(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>Demo shop</title><h1>Demo shop</h1><p>release %s</p>\n", s.rel.Version)
}

func (s *Shop) listProducts(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, "application/json", http.StatusOK, products)
}

func (s *Shop) product(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, p := range products {
		if p.ID == id {
			writeJSON(w, "application/json", http.StatusOK, p)
			return
		}
	}
	writeJSON(w, "application/json", http.StatusNotFound, map[string]string{"error": "no product " + strconv.Quote(id)})
}

func (s *Shop) cart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID  string `json:"id"`
		Qty int    `json:"qty"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil || req.ID == "" || req.Qty < 1 {
		writeJSON(w, "application/json", http.StatusBadRequest, map[string]string{"error": `expected {"id": "...", "qty": n>0}`})
		return
	}
	for _, p := range products {
		if p.ID == req.ID {
			writeJSON(w, "application/json", http.StatusOK, map[string]any{"items": []any{map[string]any{"id": p.ID, "qty": req.Qty}}, "total": p.Price * float64(req.Qty)})
			return
		}
	}
	writeJSON(w, "application/json", http.StatusNotFound, map[string]string{"error": "no product " + strconv.Quote(req.ID)})
}

func (s *Shop) checkout(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, "application/json", http.StatusOK, map[string]any{"order_id": s.seq.Load(), "status": "confirmed"})
}

func (s *Shop) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, "application/json", http.StatusOK, map[string]string{
		"service": "demo-shop",
		"version": s.rel.Version,
		"commit":  s.rel.Commit,
		"image":   s.rel.Image,
		"track":   s.opts.Track,
	})
}

func (s *Shop) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, "application/health+json", http.StatusOK, map[string]string{"status": "pass", "version": s.rel.Version})
}
