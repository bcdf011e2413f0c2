package memory

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// queue implements storage.QueueRepository.
type queue struct{ repo }

// RegisterWorker adds a worker, seen now.
func (r queue) RegisterWorker(ctx context.Context, clock storage.Clock) (*storage.Worker, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.Worker, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("register worker: %w", err)
		}
		w := storage.Worker{ID: ulidx.New(now), RegisteredAt: now, LastSeenAt: now}
		if err := st.workers.insert(w.ID, w); err != nil {
			return nil, fmt.Errorf("register worker: %w", err)
		}
		return cloneWorker(w), nil
	})
}

// Heartbeat records the worker as seen now.
func (r queue) Heartbeat(ctx context.Context, clock storage.Clock, worker *storage.Worker) (*storage.Worker, error) {
	return r.changeWorker(ctx, clock, "heartbeat worker", worker, func(_ *state, w *storage.Worker, now time.Time) error {
		if w.ShutdownAt != nil {
			return fmt.Errorf("shut down: %w", storage.ErrInvalidState)
		}
		w.LastSeenAt = now
		return nil
	})
}

// ShutdownWorker marks the worker shut down; its running jobs become lost
// and the queue's leadership, if it holds it, is released.
func (r queue) ShutdownWorker(ctx context.Context, clock storage.Clock, worker *storage.Worker) (*storage.Worker, error) {
	return r.changeWorker(ctx, clock, "shut down worker", worker, func(st *state, w *storage.Worker, now time.Time) error {
		if w.ShutdownAt != nil {
			return storage.ErrAlreadyFinished
		}
		w.ShutdownAt = timeRef(now)
		if l, ok := st.leader.get(true); ok && l.WorkerID == w.ID {
			st.leader.remove(true)
		}
		for _, id := range st.jobs.referencing(fkJobStartedBy, w.ID) {
			if j := st.jobs.rows[id]; j.Status == storage.JobRunning {
				j.Status = storage.JobLost
				if err := st.jobs.update(id, j); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// changeWorker applies change to the stored worker.
func (r queue) changeWorker(ctx context.Context, clock storage.Clock, op string, worker *storage.Worker, change func(*state, *storage.Worker, time.Time) error) (*storage.Worker, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.Worker, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		w, err := mustWorker(st, worker)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := change(st, &w, now); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, w.ID, err)
		}
		if err := st.workers.update(w.ID, w); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneWorker(w), nil
	})
}

// LookupWorker returns the worker.
func (r queue) LookupWorker(ctx context.Context, id ulid.ULID) (*storage.Worker, error) {
	return query(r.repo, ctx, func(st *state) (*storage.Worker, error) {
		w, err := st.workers.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup worker: %w", err)
		}
		return cloneWorker(w), nil
	})
}

// TakeLeadership makes worker the leader for lease when the queue has none,
// the leader's lease has expired (it runs until ExpiresAt, exclusive), or
// worker already leads it.
func (r queue) TakeLeadership(ctx context.Context, clock storage.Clock, worker *storage.Worker, lease time.Duration) (*storage.Leader, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.Leader, error) {
		const op = "take queue leadership"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if lease < time.Second {
			return nil, fmt.Errorf("%s: lease %s: %w", op, lease, storage.ErrInvalidArgument)
		}
		w, err := mustWorker(st, worker)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if w.ShutdownAt != nil {
			return nil, fmt.Errorf("%s: worker %s shut down: %w", op, w.ID, storage.ErrInvalidState)
		}
		expires := storage.Timestamp(now.Add(lease))
		l, ok := st.leader.get(true)
		switch {
		case !ok:
			l = storage.Leader{WorkerID: w.ID, ElectedAt: now, ExpiresAt: expires}
			err = st.leader.insert(true, l)
		case l.WorkerID == w.ID:
			l.ExpiresAt = expires
			err = st.leader.update(true, l)
		case !l.ExpiresAt.After(now):
			l = storage.Leader{WorkerID: w.ID, ElectedAt: now, ExpiresAt: expires}
			err = st.leader.update(true, l)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return plain(l), nil
	})
}

// LookupLeader returns the leader, expired or not.
func (r queue) LookupLeader(ctx context.Context) (*storage.Leader, error) {
	return query(r.repo, ctx, func(st *state) (*storage.Leader, error) {
		l, ok := st.leader.get(true)
		if !ok {
			return nil, fmt.Errorf("lookup queue leader: %w", storage.ErrNotFound)
		}
		return plain(l), nil
	})
}

// Enqueue adds an available job.
func (r queue) Enqueue(ctx context.Context, clock storage.Clock, queue string, payload json.RawMessage) (*storage.Job, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.Job, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("enqueue job: %w", err)
		}
		j, err := newJob(now, queue, payload)
		if err != nil {
			return nil, fmt.Errorf("enqueue job: %w", err)
		}
		if err := st.jobs.insert(j.ID, j); err != nil {
			return nil, fmt.Errorf("enqueue job: %w", err)
		}
		return cloneJob(j), nil
	})
}

// ScheduleJob adds a job that becomes available at `at`.
func (r queue) ScheduleJob(ctx context.Context, clock storage.Clock, queue string, payload json.RawMessage, at time.Time, scheduleName string) (*storage.Job, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.Job, error) {
		const op = "schedule job"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		j, err := newScheduledJob(now, queue, payload, at)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if scheduleName != "" {
			if _, err := st.schedules.must(scheduleName); err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
		}
		j.ScheduleName = scheduleName
		if err := st.jobs.insert(j.ID, j); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneJob(j), nil
	})
}

// ScheduleJobs adds one scheduled job on queue for each of jobs, all or
// none.
func (r queue) ScheduleJobs(ctx context.Context, clock storage.Clock, queue string, jobs []storage.ScheduledJob) (int, error) {
	return mutate(r.repo, ctx, func(st *state) (int, error) {
		now, err := now(clock)
		if err != nil {
			return 0, fmt.Errorf("schedule jobs: %w", err)
		}
		if queue == "" { // refused with no job too, as by PostgreSQL
			return 0, fmt.Errorf("schedule jobs: empty queue name: %w", storage.ErrInvalidArgument)
		}
		built := make([]storage.Job, len(jobs))
		for i, sj := range jobs {
			if built[i], err = newScheduledJob(now, queue, sj.Payload, sj.At); err != nil {
				return 0, fmt.Errorf("schedule jobs in %q: job %d: %w", queue, i, err)
			}
		}
		for _, j := range built {
			if err := st.jobs.insert(j.ID, j); err != nil {
				return 0, fmt.Errorf("schedule jobs in %q: %w", queue, err)
			}
		}
		return len(built), nil
	})
}

// newScheduledJob returns a new job that becomes available at `at`; a nil
// payload is {}.
func newScheduledJob(now time.Time, queue string, payload json.RawMessage, at time.Time) (storage.Job, error) {
	j, err := newJob(now, queue, payload)
	j.Status, j.ScheduledAt = storage.JobScheduled, timeRef(storage.Timestamp(at))
	return j, err
}

// newJob returns a new available job on queue, which must be named; a nil
// payload is {}.
func newJob(now time.Time, queue string, payload json.RawMessage) (storage.Job, error) {
	if queue == "" {
		return storage.Job{}, fmt.Errorf("empty queue name: %w", storage.ErrInvalidArgument)
	}
	if payload == nil {
		payload = json.RawMessage("{}")
	}
	if !json.Valid(payload) {
		return storage.Job{}, fmt.Errorf("payload is not JSON: %w", storage.ErrInvalidArgument)
	}
	return storage.Job{
		ID: ulidx.New(now), Queue: queue, Payload: slices.Clone(payload),
		Status: storage.JobAvailable, CreatedAt: now,
	}, nil
}

// LookupJob returns the job.
func (r queue) LookupJob(ctx context.Context, id ulid.ULID) (*storage.Job, error) {
	return query(r.repo, ctx, func(st *state) (*storage.Job, error) {
		j, err := st.jobs.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup job: %w", err)
		}
		return cloneJob(j), nil
	})
}

// Reserve marks up to n available jobs of the given queues running for
// worker, oldest first, and returns them.
func (r queue) Reserve(ctx context.Context, clock storage.Clock, worker *storage.Worker, queues []string, n int) ([]*storage.Job, error) {
	return mutate(r.repo, ctx, func(st *state) ([]*storage.Job, error) {
		const op = "reserve jobs"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if n < 1 {
			return nil, fmt.Errorf("%s: n %d: %w", op, n, storage.ErrInvalidArgument)
		}
		w, err := mustWorker(st, worker)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		cands := byID(st.jobs.rows, storage.Cursor{}, n, func(_ ulid.ULID, j storage.Job) bool {
			return j.Status == storage.JobAvailable && slices.Contains(queues, j.Queue)
		})
		var out []*storage.Job
		for _, c := range cands {
			j := st.jobs.rows[c.id]
			j.Status, j.StartedAt, j.StartedBy = storage.JobRunning, timeRef(now), w.ID
			if err := st.jobs.update(j.ID, j); err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			out = append(out, cloneJob(j))
		}
		return out, nil
	})
}

// CompleteJob marks a running job completed.
func (r queue) CompleteJob(ctx context.Context, clock storage.Clock, job *storage.Job) (*storage.Job, error) {
	return r.changeJob(ctx, clock, "complete job", job, func(_ *state, j *storage.Job, now time.Time) error {
		if j.Status != storage.JobRunning {
			return fmt.Errorf("%s: %w", j.Status, storage.ErrInvalidState)
		}
		j.Status, j.CompletedAt = storage.JobCompleted, timeRef(now)
		return nil
	})
}

// FailJob marks a running job failed with reason.
func (r queue) FailJob(ctx context.Context, clock storage.Clock, job *storage.Job, reason string) (*storage.Job, error) {
	return r.changeJob(ctx, clock, "fail job", job, func(_ *state, j *storage.Job, now time.Time) error {
		if j.Status != storage.JobRunning {
			return fmt.Errorf("%s: %w", j.Status, storage.ErrInvalidState)
		}
		j.Status, j.FailedAt, j.FailedReason = storage.JobFailed, timeRef(now), reason
		return nil
	})
}

// RetryJob schedules a new attempt of a failed or lost job, available after
// delay (at once when delay is not positive), and returns it.
func (r queue) RetryJob(ctx context.Context, clock storage.Clock, job *storage.Job, delay time.Duration) (*storage.Job, error) {
	var next storage.Job
	_, err := r.changeJob(ctx, clock, "retry job", job, func(st *state, j *storage.Job, now time.Time) error {
		if j.Status != storage.JobFailed && j.Status != storage.JobLost {
			return fmt.Errorf("%s: %w", j.Status, storage.ErrInvalidState)
		}
		if !j.NextAttemptID.IsZero() {
			return fmt.Errorf("already retried: %w", storage.ErrInvalidState)
		}
		next = storage.Job{
			ID: ulidx.New(now), Queue: j.Queue, Payload: slices.Clone(j.Payload), Status: storage.JobAvailable,
			CreatedAt: now, ScheduleName: j.ScheduleName, Attempt: j.Attempt + 1,
		}
		if delay > 0 {
			next.Status, next.ScheduledAt = storage.JobScheduled, timeRef(storage.Timestamp(now.Add(delay)))
		}
		if err := st.jobs.insert(next.ID, next); err != nil {
			return err
		}
		j.NextAttemptID = next.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cloneJob(next), nil
}

// changeJob applies change to the stored job.
func (r queue) changeJob(ctx context.Context, clock storage.Clock, op string, job *storage.Job, change func(*state, *storage.Job, time.Time) error) (*storage.Job, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.Job, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if job == nil {
			return nil, fmt.Errorf("%s: nil job: %w", op, storage.ErrInvalidArgument)
		}
		j, err := st.jobs.must(job.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := change(st, &j, now); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, j.ID, err)
		}
		if err := st.jobs.update(j.ID, j); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneJob(j), nil
	})
}

// PromoteScheduled makes up to limit due scheduled jobs available, the
// earliest due first.
func (r queue) PromoteScheduled(ctx context.Context, clock storage.Clock, limit int) (int, error) {
	return mutate(r.repo, ctx, func(st *state) (int, error) {
		const op = "promote scheduled jobs"
		now, err := now(clock)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", op, err)
		}
		if limit < 1 {
			return 0, fmt.Errorf("%s: limit %d: %w", op, limit, storage.ErrInvalidArgument)
		}
		// Due means scheduled_at <= now: strictly before the next microsecond.
		due := byTime(st.jobs.rows, storage.Cursor{}, now.Add(time.Microsecond), limit, func(j storage.Job) *time.Time {
			if j.Status != storage.JobScheduled {
				return nil
			}
			return j.ScheduledAt
		})
		for _, c := range due {
			j := st.jobs.rows[c.id]
			j.Status = storage.JobAvailable
			if err := st.jobs.update(j.ID, j); err != nil {
				return 0, fmt.Errorf("%s: %w", op, err)
			}
		}
		return len(due), nil
	})
}

// SetupSchedules makes sure a schedule row exists for each name.
func (r queue) SetupSchedules(ctx context.Context, names []string) error {
	return r.write(ctx, func(st *state) error {
		for _, name := range names {
			if _, ok := st.schedules.get(name); ok {
				continue
			}
			if err := st.schedules.insert(name, storage.Schedule{Name: name}); err != nil {
				return fmt.Errorf("set up schedules: %w", err)
			}
		}
		return nil
	})
}

// RecordScheduled remembers job as the last one the schedule made.
func (r queue) RecordScheduled(ctx context.Context, clock storage.Clock, name string, job *storage.Job) error {
	return r.write(ctx, func(st *state) error {
		const op = "record scheduled job"
		now, err := now(clock)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		s, err := st.schedules.must(name)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if job == nil {
			return fmt.Errorf("%s: nil job: %w", op, storage.ErrInvalidArgument)
		}
		j, err := st.jobs.must(job.ID)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		s.LastScheduledAt, s.LastScheduledJobID = timeRef(now), j.ID
		if err := st.schedules.update(name, s); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	})
}

// ListSchedules returns every schedule, by name.
func (r queue) ListSchedules(ctx context.Context) ([]*storage.Schedule, error) {
	return query(r.repo, ctx, func(st *state) ([]*storage.Schedule, error) {
		var out []*storage.Schedule
		for _, s := range st.schedules.rows {
			out = append(out, cloneSchedule(s))
		}
		slices.SortFunc(out, func(a, b *storage.Schedule) int { return cmp.Compare(a.Name, b.Name) })
		return out, nil
	})
}

// CleanupJobs deletes completed and failed jobs created before `before`.
func (r queue) CleanupJobs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up jobs", limit, func(st *state) (storage.Batch, error) {
		cands := byAge(st.jobs.rows, after, before, limit, func(j storage.Job) bool {
			return j.Status == storage.JobCompleted || j.Status == storage.JobFailed
		})
		return deleteAll(st, tQueueJobs, cands, after)
	})
}

// CleanupLostJobs deletes lost jobs created before `before`.
func (r queue) CleanupLostJobs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up lost jobs", limit, func(st *state) (storage.Batch, error) {
		cands := byAge(st.jobs.rows, after, before, limit, func(j storage.Job) bool { return j.Status == storage.JobLost })
		return deleteAll(st, tQueueJobs, cands, after)
	})
}

// CleanupWorkers deletes workers shut down, or last seen, before `before`,
// ordered by ID; a worker some job names as its runner, and the leader, are
// skipped.
func (r queue) CleanupWorkers(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up workers", limit, func(st *state) (storage.Batch, error) {
		horizon := storage.Horizon(before)
		cands := byID(st.workers.rows, after, limit, func(_ ulid.ULID, w storage.Worker) bool {
			return (w.ShutdownAt != nil && w.ShutdownAt.Before(horizon)) || w.LastSeenAt.Before(horizon)
		})
		if len(cands) == 0 {
			return batch(cands, 0, after), nil
		}
		var del []ulid.ULID
		for _, c := range cands {
			if !st.jobs.referenced(fkJobStartedBy, c.id) && !st.leader.referenced(fkLeaderWorker, c.id) {
				del = append(del, c.id)
			}
		}
		if err := st.deleteRows(map[string][]ulid.ULID{tQueueWorkers: del}); err != nil {
			return storage.Batch{}, err
		}
		return batch(cands, len(del), after), nil
	})
}

// mustWorker returns the stored row of worker.
func mustWorker(st *state, worker *storage.Worker) (storage.Worker, error) {
	if worker == nil {
		return storage.Worker{}, fmt.Errorf("nil worker: %w", storage.ErrInvalidArgument)
	}
	return st.workers.must(worker.ID)
}
