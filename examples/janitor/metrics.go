package main

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/masstore/masstore/cleanup"
)

// metrics are what `janitor run --metrics-addr` exports, per job. The
// library exports none: they are fed from cleanup.Options' hooks.
type metrics struct {
	registry         *prometheus.Registry
	affected         *prometheus.CounterVec
	skipped          *prometheus.CounterVec
	batches          *prometheus.CounterVec
	batchDuration    *prometheus.HistogramVec
	runs             *prometheus.CounterVec
	errors           *prometheus.CounterVec
	runsSkipped      *prometheus.CounterVec
	lastSuccess      *prometheus.GaugeVec
	running          *prometheus.GaugeVec
	backlog          *prometheus.GaugeVec
	backlogEstimated *prometheus.GaugeVec
}

// metricPrefix starts every metric name.
const metricPrefix = "masstore_janitor_"

// jobLabel names the cleanup job of a series. Not "job": Prometheus gives
// every scraped series a job label of its own, the scrape job's name.
const jobLabel = "cleanup_job"

// newMetrics registers the janitor's metrics, with the Go and process
// collectors, on a registry of their own.
func newMetrics() *metrics {
	job := []string{jobLabel}
	m := &metrics{
		registry: prometheus.NewRegistry(),
		affected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "rows_affected_total",
			Help: "Rows the job deleted, or cleared the IP address of, or finished (kind), in committed batches."}, []string{jobLabel, "kind"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "rows_skipped_total",
			Help: "Rows the job examined and kept (a browser session with live children, a refresh token with a live successor, ...)."}, job),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "batches_total",
			Help: "Batches the job committed."}, job),
		batchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metricPrefix + "batch_duration_seconds",
			Help:    "Time one batch took, its statement and commit.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, job),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "runs_total",
			Help: "Runs of the job on this replica, whatever their outcome."}, job),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "errors_total",
			Help: "Runs of the job that failed (a batch or the database failed)."}, job),
		runsSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "runs_skipped_total",
			Help: "Scheduled runs this replica left to another: reason=locked, another replica was running the job; reason=done, another replica had run it for this tick."}, []string{jobLabel, "reason"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricPrefix + "last_success_timestamp_seconds",
			Help: "Unix time at which the job last ran to its end (or to a --max-duration stop) without error."}, job),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricPrefix + "running",
			Help: "1 while the job runs on this replica, else 0."}, job),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricPrefix + "backlog_rows",
			Help: "Rows due now: measured as the job starts, less what it has affected since; exported by the replica that last ran the job."}, job),
		backlogEstimated: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricPrefix + "backlog_estimated",
			Help: "1 when backlog_rows started from the planner's estimate (the exact count took too long), else 0."}, job),
	}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.affected, m.skipped, m.batches, m.batchDuration, m.runs, m.errors, m.runsSkipped,
		m.lastSuccess, m.running, m.backlog, m.backlogEstimated)
	return m
}

// register makes every series of the jobs exist from the start, at zero,
// so that rate() and absent() see them before the first run.
func (m *metrics) register(jobs []cleanup.Job) {
	for _, j := range jobs {
		m.affected.WithLabelValues(j.Name, string(j.Effect))
		m.skipped.WithLabelValues(j.Name)
		m.batches.WithLabelValues(j.Name)
		m.batchDuration.WithLabelValues(j.Name)
		m.runs.WithLabelValues(j.Name)
		m.errors.WithLabelValues(j.Name)
		m.runsSkipped.WithLabelValues(j.Name, "locked")
		m.runsSkipped.WithLabelValues(j.Name, "done")
		m.running.WithLabelValues(j.Name)
	}
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// jobStarted marks the job running.
func (m *metrics) jobStarted(job string) {
	m.running.WithLabelValues(job).Set(1)
	m.runs.WithLabelValues(job).Inc()
}

// setBacklog sets the job's backlog: due rows, and whether the count
// started from the planner's estimate.
func (m *metrics) setBacklog(job string, due int64, estimated bool) {
	m.backlog.WithLabelValues(job).Set(float64(due))
	m.backlogEstimated.WithLabelValues(job).Set(boolGauge(estimated))
}

// batchDone counts a committed batch. A dry run's batches are rolled back:
// they count as nothing.
func (m *metrics) batchDone(b cleanup.BatchInfo, effect cleanup.Effect) {
	if b.DryRun {
		return
	}
	m.affected.WithLabelValues(b.Job, string(effect)).Add(float64(b.Affected))
	m.skipped.WithLabelValues(b.Job).Add(float64(max(b.Scanned-b.Affected, 0)))
	m.batches.WithLabelValues(b.Job).Inc()
	m.batchDuration.WithLabelValues(b.Job).Observe(b.Duration.Seconds())
}

// jobDone marks the job stopped, and when it succeeded, when.
func (m *metrics) jobDone(r cleanup.Report, failed bool, at time.Time) {
	m.running.WithLabelValues(r.Job).Set(0)
	if failed {
		m.errors.WithLabelValues(r.Job).Inc()
		return
	}
	if !r.DryRun {
		m.lastSuccess.WithLabelValues(r.Job).Set(float64(at.UnixNano()) / 1e9)
	}
}

// runSkipped counts a scheduled run left to another replica, and drops this
// replica's backlog of the job: the replica that runs it measures a fresh
// one, and a stale figure here would hide it behind max by (cleanup_job).
func (m *metrics) runSkipped(job, reason string) {
	m.runsSkipped.WithLabelValues(job, reason).Inc()
	m.backlog.DeleteLabelValues(job)
	m.backlogEstimated.DeleteLabelValues(job)
}

// runFailed counts a run that failed before the job started (its lock
// could not be taken).
func (m *metrics) runFailed(job string) {
	m.errors.WithLabelValues(job).Inc()
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
