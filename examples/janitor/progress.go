package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage/postgres"
)

// progressLogEvery is how often, at most, a job in flight logs its progress
// when there is no terminal to draw on.
const progressLogEvery = 10 * time.Second

// tracker follows the jobs in flight: it feeds the metrics, and shows each
// job's progress (rows so far, rows/s, backlog left) as a live line on a
// terminal or as a log line at most every progressLogEvery.
type tracker struct {
	metrics *metrics
	log     *slog.Logger
	live    io.Writer // the terminal to draw on; nil logs instead
	now     func() time.Time

	mu   sync.Mutex
	jobs map[string]*jobProgress
}

// jobProgress is one job in flight.
type jobProgress struct {
	effect    cleanup.Effect
	dryRun    bool
	started   time.Time
	logged    time.Time
	rows      int64
	due       int64 // at the start; -1 when it could not be measured
	estimated bool
}

// newTracker draws on stderr when it is a terminal and live is asked for.
func newTracker(m *metrics, log *slog.Logger, stderr io.Writer, live bool) *tracker {
	t := &tracker{metrics: m, log: log, now: time.Now, jobs: map[string]*jobProgress{}}
	if live && isTerminal(stderr) {
		t.live = stderr
	}
	return t
}

// start records that j starts, with its backlog (nil if unmeasured).
func (t *tracker) start(j cleanup.Job, dryRun bool, b *postgres.Backlog) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	p := &jobProgress{effect: j.Effect, dryRun: dryRun, started: now, logged: now, due: -1}
	if b != nil {
		p.due, p.estimated = b.Due, b.Estimated
		t.metrics.setBacklog(j.Name, b.Due, b.Estimated)
	}
	t.jobs[j.Name] = p
	t.metrics.jobStarted(j.Name)
	t.show(j.Name, p, now)
}

// batch counts a finished batch.
func (t *tracker) batch(b cleanup.BatchInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.jobs[b.Job]
	if p == nil {
		return
	}
	t.metrics.batchDone(b, p.effect)
	p.rows += int64(b.Affected)
	if left, ok := p.left(); ok && !p.dryRun {
		t.metrics.setBacklog(b.Job, left, p.estimated)
	}
	now := t.now()
	if t.live != nil {
		t.show(b.Job, p, now)
	} else if now.Sub(p.logged) >= progressLogEvery {
		p.logged = now
		t.show(b.Job, p, now)
	}
}

// done records the job's end.
func (t *tracker) done(r cleanup.Report) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.jobs, r.Job)
	if t.live != nil {
		fmt.Fprint(t.live, "\r\033[K")
	}
	t.metrics.jobDone(r, r.Stopped == cleanup.StoppedFailed, t.now())
}

// left is the backlog not yet affected; ok is false when it is unknown.
func (p *jobProgress) left() (int64, bool) {
	if p.due < 0 {
		return 0, false
	}
	return max(p.due-p.rows, 0), true
}

// show draws or logs the job's progress.
func (t *tracker) show(job string, p *jobProgress, now time.Time) {
	rate := 0.0
	if s := now.Sub(p.started).Seconds(); s > 0 {
		rate = float64(p.rows) / s
	}
	left := "unknown"
	if n, ok := p.left(); ok {
		left = fmt.Sprint(n)
		if p.estimated {
			left = "~" + left
		}
	}
	if t.live != nil {
		fmt.Fprintf(t.live, "\r\033[K%s: %d row(s), %.0f rows/s, %s left", job, p.rows, rate, left)
		return
	}
	if p.rows > 0 {
		t.log.Info("progress", "job", job, "rows", p.rows, "rows_per_second", int64(rate), "left", left)
	}
}
