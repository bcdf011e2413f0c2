package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/masstore/masstore/cleanup"
)

// Bounds of issue 18's live-traffic goals: the workload's p99 while the
// janitor purges, against its p99 with no purge; and the janitor's purge
// time beside the workload, against its time on an idle database.
const (
	boundLiveP99   = 1.25
	boundLivePurge = 1.5
)

// Settings of the live workload: it warms up before the measured window
// starts; inflight bounds the operations in flight at once, conns the
// workload's connections.
const (
	liveWarmup      = 3 * time.Second
	liveInflight    = 64
	liveConns       = 16
	liveSampleEvery = 5 * time.Millisecond
)

// liveOutcome is what the workload saw during the measured window: the
// purge's run, or as long as the idle janitor took when nothing purges.
type liveOutcome struct {
	window   time.Duration
	latency  latencyStats
	lockWait time.Duration
}

// janitorVariant is the compat job as the janitor runs it by default
// (adaptive 100ms batches out of windows of 25 000), with pause between
// batches when not zero.
func (b *bench) janitorVariant(pause time.Duration) variant {
	name := "janitor"
	if pause > 0 {
		name += fmt.Sprintf(", pause %s", pause)
	}
	return variant{name: name, run: func(ctx context.Context, db *sqlx.DB, _ string) (outcome, error) {
		job, err := cleanup.Lookup(jobCompat)
		if err != nil {
			return outcome{}, err
		}
		return runEngine(ctx, job, db, cleanup.Options{BatchSize: 1000, TargetBatchDuration: b.cfg.target, WindowSize: b.cfg.window, Pause: pause})
	}}
}

// besideWorkload runs v while the workload runs on the same database, and
// measures the workload during v's run. With idle set, v runs only after
// the workload has run for idle (the no-purge baseline; the purge leaves
// the copy as the harness checks it).
func (b *bench) besideWorkload(v variant, idle time.Duration) variant {
	name := v.name + ", with the workload"
	if idle > 0 {
		name = "no purge"
	}
	return variant{name: name, setup: v.setup, run: func(ctx context.Context, db *sqlx.DB, url string) (outcome, error) {
		w, err := openWorkload(ctx, url, liveConns)
		if err != nil {
			return outcome{}, err
		}
		defer w.close()
		sampler, err := sqlx.Open("postgres", url)
		if err != nil {
			return outcome{}, err
		}
		defer sampler.Close()
		sampler.SetMaxOpenConns(1)

		stopWorkload := w.start(ctx, b.cfg.liveRate, liveInflight)
		select {
		case <-time.After(liveWarmup):
		case <-ctx.Done():
		}
		stopSampler := sampleLockWaits(ctx, sampler, liveSampleEvery)
		from := time.Now()
		var out outcome
		if idle > 0 {
			select {
			case <-time.After(idle):
			case <-ctx.Done():
			}
		} else {
			out, err = v.run(ctx, db, url)
		}
		to := time.Now()
		run := stopWorkload()
		lockWait, serr := stopSampler()
		switch {
		case err != nil:
			return out, err
		case run.err != nil:
			return out, run.err
		case serr != nil:
			return out, serr
		}
		all, byOp := run.between(from, to)
		live := &liveOutcome{window: to.Sub(from), latency: summarise(all, to.Sub(from)), lockWait: lockWait}
		for _, m := range workloadMix {
			s := summarise(byOp[m.op], to.Sub(from))
			b.logf("    %-12s %6d ops, p50 %s ms, p99 %s ms, max %s ms", m.op, s.ops, formatMS(s.p50), formatMS(s.p99), formatMS(s.max))
		}
		if idle > 0 {
			out, err = v.run(ctx, db, url)
		}
		out.live = live
		return out, err
	}}
}

// live: the workload of an identity server (token checks, activity,
// logins, refreshes, logouts at a fixed offered rate) while a job purges
// b.cfg.sizes.live finished compat sessions with their tokens, out of twice
// as many: with no purge, beside the janitor, and beside MAS's batch form.
func (b *bench) live(ctx context.Context) error {
	n := b.cfg.sizes.live
	ds := compatDataset(n)
	purges := []variant{b.janitorVariant(0)}
	for _, p := range b.cfg.livePauses {
		purges = append(purges, b.janitorVariant(p))
	}
	purges = append(purges, commonCompat(1000))
	idle := make([]result, len(purges))
	for i, v := range purges {
		r, err := b.measure(ctx, ds, v)
		if err != nil {
			return err
		}
		idle[i] = r
	}
	none, err := b.measure(ctx, ds, b.besideWorkload(purges[0], max(idle[0].elapsed, 2*time.Second)))
	if err != nil {
		return err
	}
	beside := make([]result, len(purges))
	for i, v := range purges {
		if beside[i], err = b.measure(ctx, ds, b.besideWorkload(v, 0)); err != nil {
			return err
		}
	}
	b.dropTemplate(ctx, ds)
	rows := liveRows(none, idle, beside)
	b.liveGoals(rows)
	title := fmt.Sprintf("live: an identity server's workload (%d operations/s offered) while %d finished compat sessions are purged, of %d", b.cfg.liveRate, n, 2*n)
	fmt.Fprintf(b.cfg.out, "\n### %s\n\n", title)
	printLive(b.cfg.out, none, rows)
	return nil
}

// liveRow is one purge's line of the live table, with the figures its goals
// bound.
type liveRow struct {
	purge string
	live  *liveOutcome
	// idle is the purge's time on an idle database.
	idle time.Duration
	// p99Ratio is the workload's p99 over its p99 with no purge;
	// purgeRatio the purge's time beside the workload over idle.
	p99Ratio, purgeRatio float64
	longestBatchMS       float64
	// reference marks MAS's batch form, which the goals do not bound.
	reference bool
}

// liveRows pairs each purge's run beside the workload with its idle run;
// the last purge is MAS's batch form.
func liveRows(none result, idle, beside []result) []liveRow {
	rows := make([]liveRow, len(beside))
	for i, r := range beside {
		rows[i] = liveRow{
			purge: idle[i].variant, live: r.live, idle: idle[i].elapsed,
			p99Ratio:       r.live.latency.p99 / none.live.latency.p99,
			purgeRatio:     r.live.window.Seconds() / idle[i].seconds(),
			longestBatchMS: percentileMS(r.batches, 100),
			reference:      i == len(beside)-1,
		}
	}
	return rows
}

// met reports whether the row keeps all three goals.
func (r liveRow) met() bool {
	return r.p99Ratio <= boundLiveP99 && r.purgeRatio <= boundLivePurge && r.lockWaitMet()
}

// lockWaitMet reports whether no operation waited on a lock for longer than
// the purge's longest batch.
func (r liveRow) lockWaitMet() bool { return ms(r.live.lockWait) <= r.longestBatchMS }

// liveGoals records the goals of every row but MAS's batch form (the
// reference): the janitor's default and each paused one.
func (b *bench) liveGoals(rows []liveRow) {
	for _, r := range rows {
		if r.reference {
			continue
		}
		b.goals = append(b.goals,
			ratioGoal("live: workload p99 beside "+r.purge+" vs no purge", r.p99Ratio, 0, boundLiveP99),
			ratioGoal("live: "+r.purge+" purge time beside the workload vs idle", r.purgeRatio, 0, boundLivePurge),
			goal{what: "live: longest lock wait of the workload beside " + r.purge, measured: fmt.Sprintf("%.0f ms", ms(r.live.lockWait)),
				bound: fmt.Sprintf("≤ the longest batch (%.0f ms)", r.longestBatchMS), met: r.lockWaitMet(), metCPU: "-"})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// printLive prints the live scenario's table: the purge's time beside the
// workload and idle, the workload's latency and throughput, and the ratios
// the goals bound.
func printLive(w io.Writer, none result, rows []liveRow) {
	fmt.Fprintln(w, "| purge | purge s (idle) | purge vs idle | ops/s | p50 ms | p99 ms | max ms | p99 vs no purge | longest lock wait ms | longest batch ms | goals met |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	l := none.live
	fmt.Fprintf(w, "| none | – | – | %.0f | %s | %s | %s | 1.00 | %s | – | |\n",
		l.latency.perSecond, formatMS(l.latency.p50), formatMS(l.latency.p99), formatMS(l.latency.max), formatMS(ms(l.lockWait)))
	for _, r := range rows {
		l := r.live
		met := "reference"
		if !r.reference {
			met = metWord(r.met())
		}
		fmt.Fprintf(w, "| %s | %.2f (%.2f) | %.2f | %.0f | %s | %s | %s | %.2f | %s | %s | %s |\n",
			r.purge, l.window.Seconds(), r.idle.Seconds(), r.purgeRatio, l.latency.perSecond,
			formatMS(l.latency.p50), formatMS(l.latency.p99), formatMS(l.latency.max), r.p99Ratio,
			formatMS(ms(l.lockWait)), formatMS(r.longestBatchMS), met)
	}
	fmt.Fprintf(w, "\nGoals (the janitor's rows): p99 vs no purge ≤ %.2f×, purge vs idle ≤ %.1f×, no lock wait longer than the longest batch. "+
		"Latency is from when an operation was due (the rate is offered, not adjusted), over the purge's run; lock waits sampled every %s.\n",
		boundLiveP99, boundLivePurge, liveSampleEvery)
}
