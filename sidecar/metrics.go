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
	queue    prometheus.Gauge     // requests waiting for a worker
	wait     prometheus.Histogram // how long they waited
}

// newMetrics makes the collectors; work is the Server's worker slots (Config.Workers).
func newMetrics(work chan struct{}) *metrics {
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
		queue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ailabel_worker_queue_requests", Help: "Contents of 64 KiB or more waiting for a worker (--workers) to label or verify them.",
		}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ailabel_worker_wait_seconds",
			Help:    "Time contents of 64 KiB or more waited for a worker (0 when one was free).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	busy := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ailabel_workers_busy", Help: "Workers (--workers) labeling or verifying a content of 64 KiB or more.",
	}, func() float64 { return float64(len(work)) })
	workers := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ailabel_workers", Help: "Workers (--workers)."})
	workers.Set(float64(cap(work)))
	m.reg.MustRegister(m.requests, m.bytesIn, m.bytesOut, m.latency, m.labels, m.verifies, m.inflight, m.queue, m.wait, busy, workers,
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
