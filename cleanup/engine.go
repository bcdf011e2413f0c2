package cleanup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/masstore/masstore/storage"
)

// StopReason says why a job stopped before its last batch.
type StopReason string

// The reasons a job stops early. A job that ran to its end has none.
const (
	StoppedMaxBatches  StopReason = "max-batches"
	StoppedMaxRows     StopReason = "max-rows"
	StoppedMaxDuration StopReason = "max-duration"
	StoppedCancelled   StopReason = "cancelled"
	StoppedRequested   StopReason = "stop-requested"
	StoppedFailed      StopReason = "failed"
)

// Report is what one run of one job did.
type Report struct {
	Job       string
	Retention time.Duration
	// Horizon is the clock's time minus the retention: rows stale since
	// before it were the candidates.
	Horizon time.Time
	// Affected counts the rows deleted (or IPs cleared); in a dry run, those
	// that would have been.
	Affected int
	// Scanned counts the candidates examined, skipped ones included.
	Scanned int
	Batches int
	// Duration is how long the job ran, in real time.
	Duration time.Duration
	// Stopped is empty when the job ran to its end, else why it stopped.
	// Every batch before the stop is committed; running the job again goes on.
	Stopped StopReason
	// Cursor is the last candidate examined.
	Cursor storage.Cursor
	DryRun bool
}

// Finished reports whether the job ran to its end.
func (r Report) Finished() bool { return r.Stopped == "" }

// Run runs one job: horizon = clock's time - retention, then batches until
// one comes back short, a limit is reached or ctx ends. The error is the
// batch's that failed, or ctx's; the report then tells what was done before.
func Run(ctx context.Context, job Job, repo storage.Repository, clock storage.Clock, opts Options) (Report, error) {
	if !job.On(opts) {
		return Report{Job: job.Name}, fmt.Errorf("%w: %s is off until it is given a retention (Options.Retention[%q])", ErrInvalidOptions, job.Name, job.Name)
	}
	reports, err := RunJobs(ctx, []Job{job}, repo, clock, opts)
	if len(reports) == 0 {
		return Report{Job: job.Name}, err
	}
	return reports[0], err
}

// RunAll runs every job of AllJobs that opts turn on, in order; see RunJobs.
func RunAll(ctx context.Context, repo storage.Repository, clock storage.Clock, opts Options) ([]Report, error) {
	return RunJobs(ctx, AllJobs(), repo, clock, opts)
}

// RunJobs runs jobs one after the other (pass them in the order of AllJobs;
// Select does), with the clock read once for all. Optional jobs that opts do
// not turn on (Job.On) are left out, without a report. A job that fails does not
// stop the others; the error joins every failure. When ctx ends, the job in
// flight stops after its batch and the rest do not run. A dry run runs all
// jobs in one transaction, rolled back at the end, so that later jobs see what
// earlier ones would have deleted.
func RunJobs(ctx context.Context, jobs []Job, repo storage.Repository, clock storage.Clock, opts Options) ([]Report, error) {
	now, err := check(jobs, repo, clock, opts)
	if err != nil {
		return nil, err
	}
	if !opts.DryRun {
		return runJobs(ctx, jobs, repo, now, opts)
	}
	store, ok := repo.(storage.Store)
	if !ok {
		return nil, ErrDryRunNeedsStore
	}
	var reports []Report
	var runErr error
	err = store.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
		reports, runErr = runJobs(ctx, jobs, tx, now, opts)
		if runErr != nil {
			return runErr
		}
		return storage.ErrRollback
	})
	if runErr == nil && err != nil {
		runErr = fmt.Errorf("dry run: %w", err)
	}
	return reports, runErr
}

// Validate reports, before anything runs, what makes a run impossible: bad
// options, a nil clock, or a clock that cannot be right. The error wraps
// ErrInvalidOptions and names each problem. Run and RunAll call it; a host
// may call it earlier, e.g. when it parses its configuration.
func Validate(clock storage.Clock, opts Options) error {
	_, err := check(nil, fakeRepository{}, clock, opts)
	return err
}

// fakeRepository stands in for the repository when only the rest is checked.
type fakeRepository struct{ storage.Repository }

// check validates everything before anything runs, and reads the clock.
func check(jobs []Job, repo storage.Repository, clock storage.Clock, opts Options) (time.Time, error) {
	var errs []error
	if repo == nil {
		errs = append(errs, errors.New("repository is nil"))
	}
	for _, j := range jobs {
		if (j.Method == nil) == (j.Steps == nil) {
			errs = append(errs, fmt.Errorf("job %q needs a method or steps, not both", j.Name))
		}
	}
	if err := opts.validate(); err != nil {
		errs = append(errs, err)
	}
	var now time.Time
	if clock == nil {
		errs = append(errs, errors.New("clock is nil"))
	} else {
		now = clock.Now()
		if err := checkTime(now); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		if errors.Is(err, ErrInvalidOptions) && len(errs) == 1 {
			return now, err
		}
		return now, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	return now, nil
}

// checkTime refuses clocks that cannot be right: a horizon computed from them
// would delete everything or nothing.
func checkTime(now time.Time) error {
	lo := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	hi := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	if now.IsZero() {
		return errors.New("clock reads the zero time")
	}
	if now.Before(lo) || !now.Before(hi) {
		return fmt.Errorf("clock reads %s, outside %d..%d", now.UTC().Format(time.RFC3339), lo.Year(), hi.Year()-1)
	}
	return nil
}

func runJobs(ctx context.Context, jobs []Job, repo storage.Repository, now time.Time, opts Options) ([]Report, error) {
	var reports []Report
	var errs []error
	for _, j := range jobs {
		if ctx.Err() != nil || stopRequested(opts.Stop) {
			break
		}
		if !j.On(opts) {
			continue
		}
		if opts.OnJobStart != nil {
			opts.OnJobStart(j, opts.HorizonOf(j, now))
		}
		r, err := runJob(ctx, j, repo, now, opts)
		reports = append(reports, r)
		if opts.OnJob != nil {
			opts.OnJob(r)
		}
		if err != nil {
			errs = append(errs, err)
			if opts.DryRun {
				break // the transaction is spoilt
			}
		}
	}
	if err := ctx.Err(); err != nil && len(errs) == 0 {
		errs = append(errs, err)
	}
	return reports, errors.Join(errs...)
}

// runJob is the one batch loop every job shares.
func runJob(ctx context.Context, job Job, repo storage.Repository, now time.Time, opts Options) (Report, error) {
	r := Report{Job: job.Name, Retention: opts.RetentionOf(job), Horizon: opts.HorizonOf(job, now), DryRun: opts.DryRun}
	elapsed := opts.stopwatch().Start()
	source := batches(job, repo, now, r.Horizon, opts)
	size := opts.batchSize()
	stop := func(reason StopReason, err error) (Report, error) {
		r.Stopped = reason
		r.Duration = elapsed()
		return r, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return stop(StoppedCancelled, fmt.Errorf("%s: %w", job.Name, err))
		}
		if stopRequested(opts.Stop) {
			return stop(StoppedRequested, nil)
		}
		if opts.MaxBatches > 0 && r.Batches >= opts.MaxBatches {
			return stop(StoppedMaxBatches, nil)
		}
		if opts.MaxDuration > 0 && elapsed() >= opts.MaxDuration {
			return stop(StoppedMaxDuration, nil)
		}
		limit := size
		if opts.MaxRows > 0 {
			left := opts.MaxRows - r.Affected
			if left <= 0 {
				return stop(StoppedMaxRows, nil)
			}
			limit = min(limit, left)
		}
		err := source.prepare(ctx, r.Cursor, limit)
		batchElapsed := opts.stopwatch().Start()
		var (
			b    storage.Batch
			last bool
		)
		if err == nil {
			b, last, err = source.next(ctx, r.Cursor, limit)
		}
		if err != nil {
			if ctx.Err() != nil {
				return stop(StoppedCancelled, fmt.Errorf("%s: batch %d: %w", job.Name, r.Batches+1, ctx.Err()))
			}
			return stop(StoppedFailed, fmt.Errorf("%s: batch %d: %w", job.Name, r.Batches+1, err))
		}
		took := batchElapsed()
		if b.Scanned >= limit {
			// A short batch (a window's tail) says nothing of a full one.
			size = opts.nextBatchSize(size, took)
		}
		r.Batches++
		r.Affected += b.Affected
		r.Scanned += b.Scanned
		r.Cursor = b.Cursor
		if opts.OnBatch != nil {
			opts.OnBatch(BatchInfo{Job: job.Name, Number: r.Batches, Affected: b.Affected, Scanned: b.Scanned, Limit: limit, Cursor: r.Cursor, Duration: took, DryRun: opts.DryRun})
		}
		if last {
			r.Duration = elapsed()
			return r, nil
		}
		if opts.Pause > 0 {
			t := time.NewTimer(opts.Pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return stop(StoppedCancelled, fmt.Errorf("%s: %w", job.Name, ctx.Err()))
			case <-opts.Stop:
				t.Stop()
				return stop(StoppedRequested, nil)
			case <-t.C:
			}
		}
	}
}

func stopRequested(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}
