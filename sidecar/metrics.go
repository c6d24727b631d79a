package sidecar

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are a Server's Prometheus collectors, in a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	labels   *prometheus.CounterVec
	verifies *prometheus.CounterVec
	inflight prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ailabel_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ailabel_http_request_body_bytes_total", Help: "Request body bytes read, by route.",
		}, []string{"route"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ailabel_http_response_body_bytes_total", Help: "Response body bytes written, by route.",
		}, []string{"route"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ailabel_http_request_duration_seconds",
			Help:    "Time from the request's arrival to the end of its response, by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route"}),
		labels: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ailabel_labels_total", Help: "Contents labeled, by format.",
		}, []string{"format"}),
		verifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ailabel_verify_total", Help: "Contents verified, by verdict.",
		}, []string{"verdict"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ailabel_inflight_requests", Help: "Requests being labeled, verified or proxied.",
		}),
	}
	m.reg.MustRegister(m.requests, m.bytesIn, m.bytesOut, m.latency, m.labels, m.verifies, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(route string, status int, in, out int64, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.bytesIn.WithLabelValues(route).Add(float64(in))
	m.bytesOut.WithLabelValues(route).Add(float64(out))
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
