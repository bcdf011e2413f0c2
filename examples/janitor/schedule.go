package main

import (
	"context"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/masstore/masstore/cleanup"
)

// tickLookback is how far back tickOf looks for the activation a run is
// for: cron starts a run within milliseconds of it.
const tickLookback = time.Minute

// alignedEvery is --every's schedule: the multiples of d (counted from
// the zero time, so every divisor of a day falls on UTC midnight), the
// same on every replica whenever it started.
type alignedEvery struct{ d time.Duration }

// Next returns the first multiple of d after t.
func (e alignedEvery) Next(t time.Time) time.Time { return t.Truncate(e.d).Add(e.d) }

// tickOf returns the activation of s that a run started at now is for: the
// latest one at or before now. Replicas on one schedule agree on it.
func tickOf(s cron.Schedule, now time.Time) time.Time {
	t := s.Next(now.Add(-tickLookback))
	if t.After(now) {
		return now.Truncate(time.Second)
	}
	for n := s.Next(t); !n.After(now); n = s.Next(n) {
		t = n
	}
	return t
}

// scheduled runs each job on its cadence until ctx ends (SIGINT/SIGTERM),
// then lets the batches in flight finish.
func (r *runner) scheduled(ctx context.Context) int {
	stop := make(chan struct{})
	r.cfg.opts.Stop = stop
	// The jobs run on a context that the signal does not cancel: a signal
	// closes stop instead, and each job ends after its batch in flight.
	jobCtx := context.WithoutCancel(ctx)
	// Cadences have five fields, or six with seconds first (MAS runs
	// expire-inactive-sessions at second 30).
	parser := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	c := cron.New(cron.WithParser(parser), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	for _, j := range r.cfg.jobs {
		var sched cron.Schedule = alignedEvery{r.cfg.every}
		if r.cfg.every == 0 {
			var err error
			if sched, err = parser.Parse(j.Cadence); err != nil {
				r.log.Error("bad cadence", "job", j.Name, "cadence", j.Cadence, "err", err)
				return exitFailure
			}
		}
		c.Schedule(sched, cron.FuncJob(func() { r.tick(jobCtx, j, tickOf(sched, time.Now())) }))
	}
	mode := "one replica per job (advisory lock)"
	if r.cfg.parallelReplicas {
		mode = "every replica runs every job (--parallel-replicas)"
	}
	r.log.Info("janitor running", "jobs", len(r.cfg.jobs), "names", strings.Join(jobNames(r.cfg.jobs), ","), "replicas", mode)
	c.Start()
	<-ctx.Done()
	r.log.Info("stopping: finishing the batches in flight")
	close(stop)
	<-c.Stop().Done()
	return exitOK
}

// tick runs j for one activation of its schedule. Unless replicas run in
// parallel, it first takes the job's advisory lock, and skips the run when
// another replica holds it or has already run this tick.
func (r *runner) tick(ctx context.Context, j cleanup.Job, tick time.Time) {
	if !r.cfg.parallelReplicas {
		release, ok, err := tryJobLock(ctx, r.db, j.Name)
		if err != nil {
			r.log.Error("job failed", "job", j.Name, "tick", tick.UTC().Format(time.RFC3339), "err", err)
			r.metrics.runFailed(j.Name)
			return
		}
		if !ok {
			r.skip(j.Name, tick, "locked", "another replica is running it")
			return
		}
		defer release()
		// The lock holder of this tick may have finished before this
		// replica woke up: the run log says so.
		if runs, err := lastRuns(ctx, r.db); err == nil && !runs[j.Name].Tick.Before(tick) {
			r.skip(j.Name, tick, "done", "another replica ran it for this tick")
			return
		}
	}
	r.log.Info("job started", "job", j.Name, "tick", tick.UTC().Format(time.RFC3339))
	if _, err := cleanup.Run(ctx, j, r.store, r.cfg.clock, r.options(ctx, tick)); err != nil {
		r.log.Error("job failed", "job", j.Name, "tick", tick.UTC().Format(time.RFC3339), "err", err)
	}
}

// skip logs and counts a scheduled run left to another replica.
func (r *runner) skip(job string, tick time.Time, reason, why string) {
	r.log.Info("job skipped: "+why, "job", job, "tick", tick.UTC().Format(time.RFC3339), "reason", reason)
	r.metrics.runSkipped(job, reason)
}
