package cleanup

import (
	"errors"
	"fmt"
	"time"

	"github.com/masstore/masstore/storage"
)

// Bounds of the options.
const (
	DefaultBatchSize = 1000
	MaxBatchSize     = 100000
	// MaxWindowSize bounds Options.WindowSize: a window's IDs are held in
	// memory (16 bytes each).
	MaxWindowSize = 1000000
	// MaxRetention bounds a retention override: anything longer is a typo.
	MaxRetention = 100 * 365 * day
	// DefaultKeepPolicyData is how many versions of the policy data
	// prune-stale-policy-data keeps, as MAS does.
	DefaultKeepPolicyData = 10
)

// Options tune a run. The zero value runs with the defaults.
type Options struct {
	// BatchSize is the most candidates one batch examines: 1 to 100000,
	// 0 for DefaultBatchSize.
	BatchSize int
	// TargetBatchDuration, when set, makes the batch size adapt: it starts
	// at BatchSize and changes in proportion to how far the last batch was
	// from the target: it grows (at most doubling) when a batch took less
	// than 3/4 of the target and shrinks (at most halving) when one took
	// longer than the target, within 1..MaxBatchSize. 100ms keeps the p99
	// batch well under 250ms (see BENCHMARKS.md). Fewer, larger batches
	// approach the speed of one big statement while each transaction stays
	// short.
	TargetBatchDuration time.Duration
	// WindowSize, when set, makes the jobs that can (Job.Window: finished
	// compat and OAuth 2.0 sessions) read that many candidates ahead, in
	// the job's order and without locking them, and delete them in batches
	// in the order of their IDs: on a large table the rows and index entries
	// of neighbouring IDs are neighbours, so deletes touch fewer pages. In
	// BENCHMARKS.md, with 25000 and a 100ms target, 2 000 000 candidates go
	// at 1.09x the time per row of 100 000 (1.36x without windows).
	// 0 turns windows off; otherwise 1..MaxWindowSize, and a window is never
	// smaller than the batch size. A window costs 16 bytes of memory per
	// candidate. The run's cursor (Report.Cursor, BatchInfo.Cursor) moves
	// once a window is done.
	WindowSize int
	// Retention overrides jobs' default retentions, by job name. For
	// expire-inactive-sessions it is the time-to-live of inactive sessions
	// (MinInactiveSessionTTL..MaxInactiveSessionTTL), and the job is off
	// without it.
	Retention map[string]time.Duration
	// InactiveSessions tunes expire-inactive-sessions; the zero value does
	// what MAS does.
	InactiveSessions InactiveSessions
	// KeepPolicyData is how many of the newest policy data versions
	// prune-stale-policy-data keeps: at least 1 (the newest is the one in
	// force), 0 for DefaultKeepPolicyData.
	KeepPolicyData int
	// DryRun counts what would be affected and changes nothing. The run
	// happens in one transaction that is rolled back (the repository must be a
	// storage.Store), so the counts are exactly those a real run would have,
	// and the rows it examines stay locked until it ends.
	DryRun bool
	// MaxBatches stops a job after that many batches (0: no limit).
	MaxBatches int
	// MaxRows stops a job once it affected that many rows (0: no limit);
	// batches shrink so as not to overshoot.
	MaxRows int
	// MaxDuration stops a job cleanly between batches once it has run that
	// long (0: no limit). The batch in flight always finishes.
	MaxDuration time.Duration
	// Pause waits between batches, to spare a busy primary: the knob that
	// trades purge speed for the latency of the server beside it. A purge
	// takes a CPU core while a batch runs (its locks never hold up the
	// server's own statements); with 100ms batches, a pause of 300ms
	// quarters that share and 1s takes it under a tenth. In BENCHMARKS.md
	// (live traffic, 2 cores) they took the workload's p99 from 3.5x its p99
	// without a purge to 1.96x and 1.12x (within the 1.25x goal), the purge
	// taking 4.9x and 13.6x as long.
	Pause time.Duration
	// Stop, when closed, stops the run cleanly after the batch in flight
	// (cancelling the context instead aborts that batch, which rolls back).
	Stop <-chan struct{}
	// OnBatch, when set, is called after every batch (metrics, progress).
	OnBatch func(BatchInfo)
	// OnJobStart, when set, is called as each job starts, before its first
	// batch, with the horizon it runs to (a host measures its backlog there).
	OnJobStart func(job Job, horizon time.Time)
	// OnJob, when set, is called with each job's report as the job ends.
	OnJob func(Report)
	// Stopwatch measures durations; nil for the machine's monotonic clock.
	Stopwatch Stopwatch
}

// BatchInfo describes one finished batch, for Options.OnBatch.
type BatchInfo struct {
	Job      string
	Number   int // 1 for the first batch of the run
	Limit    int // the batch size it ran with
	Affected int
	Scanned  int
	Cursor   storage.Cursor
	Duration time.Duration // the batch's own time; reading a window ahead (no locks) is not part of it
	DryRun   bool
}

// validate checks the options against the jobs they will run.
func (o Options) validate() error {
	var errs []error
	if o.BatchSize < 0 || o.BatchSize > MaxBatchSize {
		errs = append(errs, fmt.Errorf("batch size %d out of range 1..%d", o.BatchSize, MaxBatchSize))
	}
	for name, r := range o.Retention {
		job, err := Lookup(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("retention override: %w", err))
			continue
		}
		lo, hi := job.MinRetention, job.MaxRetention
		if hi == 0 {
			hi = MaxRetention
		}
		switch {
		case lo > 0 && (r < lo || r > hi):
			errs = append(errs, fmt.Errorf("retention %s of %s out of range [%s, %s]", r, name, lo, hi))
		case lo == 0 && (r <= 0 || r > hi):
			errs = append(errs, fmt.Errorf("retention %s of %s out of range (0, %s]", r, name, hi))
		}
	}
	if o.KeepPolicyData < 0 {
		errs = append(errs, fmt.Errorf("policy data to keep %d is negative (at least 1 is kept; 0 for %d)", o.KeepPolicyData, DefaultKeepPolicyData))
	}
	if o.WindowSize < 0 || o.WindowSize > MaxWindowSize {
		errs = append(errs, fmt.Errorf("window size %d out of range 0..%d", o.WindowSize, MaxWindowSize))
	}
	if o.MaxBatches < 0 {
		errs = append(errs, fmt.Errorf("max batches %d is negative", o.MaxBatches))
	}
	if o.MaxRows < 0 {
		errs = append(errs, fmt.Errorf("max rows %d is negative", o.MaxRows))
	}
	if o.MaxDuration < 0 {
		errs = append(errs, fmt.Errorf("max duration %s is negative", o.MaxDuration))
	}
	if o.TargetBatchDuration < 0 {
		errs = append(errs, fmt.Errorf("target batch duration %s is negative", o.TargetBatchDuration))
	}
	if o.Pause < 0 {
		errs = append(errs, fmt.Errorf("pause %s is negative", o.Pause))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	return nil
}

func (o Options) batchSize() int {
	if o.BatchSize == 0 {
		return DefaultBatchSize
	}
	return o.BatchSize
}

func (o Options) keepPolicyData() int {
	if o.KeepPolicyData == 0 {
		return DefaultKeepPolicyData
	}
	return o.KeepPolicyData
}

// RetentionOf returns j's retention under o: its override in o.Retention,
// else the job's default.
func (o Options) RetentionOf(j Job) time.Duration {
	if r, ok := o.Retention[j.Name]; ok {
		return r
	}
	return j.Retention
}

// HorizonOf returns the horizon a run of j at now has under o: now minus its
// retention. The job's rows older than it are the ones it affects (Report.Horizon).
func (o Options) HorizonOf(j Job, now time.Time) time.Time {
	return now.Add(-o.RetentionOf(j))
}

// nextBatchSize adapts size to how long the last batch took.
func (o Options) nextBatchSize(size int, took time.Duration) int {
	target := o.TargetBatchDuration
	switch {
	case target == 0:
		return size
	case took > target:
		// In proportion, but at most halving: one slow batch on a loaded
		// machine must not collapse the size.
		return max(1, size/2, int(float64(size)*float64(target)/float64(took)))
	case took < target*3/4:
		// In proportion too, but at most doubling: aiming at the target
		// rather than past it keeps the next batch from overshooting it.
		return min(size*2, MaxBatchSize, int(float64(size)*float64(target)/float64(max(took, 1))))
	}
	return size
}
