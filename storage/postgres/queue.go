package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// queue is the storage.QueueRepository.
type queue struct{ ext sqlx.ExtContext }

const workerColumns = `queue_worker_id, registered_at, last_seen_at, shutdown_at`

func scanWorker(row rowScanner) (*storage.Worker, error) {
	var w storage.Worker
	err := row.Scan(idCol{&w.ID}, timeCol{&w.RegisteredAt}, timeCol{&w.LastSeenAt}, nullTimeCol{&w.ShutdownAt})
	if err != nil {
		return nil, translate(err)
	}
	return &w, nil
}

const jobColumns = `queue_job_id, queue_name, payload, status, created_at, scheduled_at, schedule_name,
	started_at, started_by, completed_at, failed_at, failed_reason, attempt, next_attempt_id`

func scanJob(row rowScanner) (*storage.Job, error) {
	var (
		j      storage.Job
		status string
	)
	err := row.Scan(idCol{&j.ID}, &j.Queue, rawJSONCol{&j.Payload}, &status, timeCol{&j.CreatedAt},
		nullTimeCol{&j.ScheduledAt}, textCol{&j.ScheduleName}, nullTimeCol{&j.StartedAt}, idCol{&j.StartedBy},
		nullTimeCol{&j.CompletedAt}, nullTimeCol{&j.FailedAt}, textCol{&j.FailedReason}, &j.Attempt, idCol{&j.NextAttemptID})
	if err != nil {
		return nil, translate(err)
	}
	j.Status = storage.JobStatus(status)
	return &j, nil
}

const scheduleColumns = `schedule_name, last_scheduled_at, last_scheduled_job_id`

func scanSchedule(row rowScanner) (*storage.Schedule, error) {
	var s storage.Schedule
	err := row.Scan(&s.Name, nullTimeCol{&s.LastScheduledAt}, idCol{&s.LastScheduledJobID})
	if err != nil {
		return nil, translate(err)
	}
	return &s, nil
}

// RegisterWorker adds a worker, seen now.
func (r queue) RegisterWorker(ctx context.Context, clock storage.Clock) (*storage.Worker, error) {
	now := storage.Now(clock)
	w := &storage.Worker{ID: ulidx.New(now), RegisteredAt: now, LastSeenAt: now}
	_, err := r.ext.ExecContext(ctx,
		`INSERT INTO queue_workers (queue_worker_id, registered_at, last_seen_at) VALUES ($1, $2, $2)`, key(w.ID), now)
	if err != nil {
		return nil, fmt.Errorf("register worker: %w", translate(err))
	}
	return w, nil
}

// Heartbeat records the worker as seen now.
func (r queue) Heartbeat(ctx context.Context, clock storage.Clock, worker *storage.Worker) (*storage.Worker, error) {
	if worker == nil {
		return nil, nilArg("heartbeat", "worker")
	}
	w, err := scanWorker(r.ext.QueryRowxContext(ctx, `
		UPDATE queue_workers SET last_seen_at = $1
		WHERE queue_worker_id = $2 AND shutdown_at IS NULL
		RETURNING `+workerColumns, storage.Now(clock), key(worker.ID)))
	if err == nil {
		return w, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "queue_workers", "queue_worker_id", worker.ID, fmt.Errorf("shut down: %w", storage.ErrInvalidState))
	}
	return nil, fmt.Errorf("heartbeat of worker %s: %w", worker.ID, err)
}

// ShutdownWorker marks the worker shut down and its running jobs lost, and
// releases the queue's leadership if the worker holds it, in one statement.
func (r queue) ShutdownWorker(ctx context.Context, clock storage.Clock, worker *storage.Worker) (*storage.Worker, error) {
	if worker == nil {
		return nil, nilArg("shut down worker", "worker")
	}
	w, err := scanWorker(r.ext.QueryRowxContext(ctx, `
		WITH w AS (
			UPDATE queue_workers SET shutdown_at = $1
			WHERE queue_worker_id = $2 AND shutdown_at IS NULL
			RETURNING `+workerColumns+`
		), lost AS (
			UPDATE queue_jobs SET status = 'lost'
			WHERE started_by = (SELECT queue_worker_id FROM w) AND status = 'running'
		), released AS (
			DELETE FROM queue_leader WHERE queue_worker_id = (SELECT queue_worker_id FROM w)
		)
		SELECT `+workerColumns+` FROM w`, storage.Now(clock), key(worker.ID)))
	if err == nil {
		return w, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "queue_workers", "queue_worker_id", worker.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("shut down worker %s: %w", worker.ID, err)
}

// LookupWorker returns the worker, or ErrNotFound.
func (r queue) LookupWorker(ctx context.Context, id ulid.ULID) (*storage.Worker, error) {
	w, err := scanWorker(r.ext.QueryRowxContext(ctx,
		`SELECT `+workerColumns+` FROM queue_workers WHERE queue_worker_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup worker %s: %w", id, err)
	}
	return w, nil
}

// payloadArg returns payload as a jsonb argument (text: lib/pq would send
// bytes as bytea); nil is {}.
func payloadArg(payload json.RawMessage) (string, error) {
	if payload == nil {
		return "{}", nil
	}
	if !json.Valid(payload) {
		return "", fmt.Errorf("payload is not JSON: %w", storage.ErrInvalidArgument)
	}
	return string(payload), nil
}

// Enqueue adds an available job.
func (r queue) Enqueue(ctx context.Context, clock storage.Clock, queueName string, payload json.RawMessage) (*storage.Job, error) {
	j, err := r.insertJob(ctx, clock, queueName, payload, storage.JobAvailable, nil, "")
	if err != nil {
		return nil, fmt.Errorf("enqueue job in %q: %w", queueName, err)
	}
	return j, nil
}

// ScheduleJob adds a job that becomes available at `at`.
func (r queue) ScheduleJob(ctx context.Context, clock storage.Clock, queueName string, payload json.RawMessage, at time.Time, scheduleName string) (*storage.Job, error) {
	at = storage.Timestamp(at)
	j, err := r.insertJob(ctx, clock, queueName, payload, storage.JobScheduled, &at, scheduleName)
	if err != nil {
		return nil, fmt.Errorf("schedule job in %q: %w", queueName, err)
	}
	return j, nil
}

// ScheduleJobs adds one scheduled job on queueName for each of jobs, in one
// INSERT ... SELECT FROM unnest statement.
func (r queue) ScheduleJobs(ctx context.Context, clock storage.Clock, queueName string, jobs []storage.ScheduledJob) (int, error) {
	if queueName == "" {
		return 0, fmt.Errorf("schedule jobs: empty queue name: %w", storage.ErrInvalidArgument)
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	now := storage.Now(clock)
	ids := make([]string, len(jobs))
	payloads := make([]string, len(jobs))
	at := make([]string, len(jobs))
	for i, j := range jobs {
		p, err := payloadArg(j.Payload)
		if err != nil {
			return 0, fmt.Errorf("schedule jobs in %q: job %d: %w", queueName, i, err)
		}
		ids[i], payloads[i] = key(ulidx.New(now)), p
		at[i] = storage.Timestamp(j.At).Format(time.RFC3339Nano)
	}
	res, err := r.ext.ExecContext(ctx, `
		INSERT INTO queue_jobs (queue_job_id, queue_name, payload, metadata, created_at, status, scheduled_at, attempt)
		SELECT j.id, $4, j.payload::jsonb, '{}', $5, 'scheduled'::queue_job_status, j.at, 0
		FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS j (id, payload, at, n)
		ORDER BY j.n`,
		pq.Array(ids), pq.Array(payloads), pq.Array(at), queueName, now)
	if err != nil {
		return 0, fmt.Errorf("schedule %d jobs in %q: %w", len(jobs), queueName, translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("schedule %d jobs in %q: %w", len(jobs), queueName, err)
	}
	return int(n), nil
}

func (r queue) insertJob(ctx context.Context, clock storage.Clock, queueName string, payload json.RawMessage, status storage.JobStatus, at *time.Time, scheduleName string) (*storage.Job, error) {
	if queueName == "" {
		return nil, fmt.Errorf("empty queue name: %w", storage.ErrInvalidArgument)
	}
	p, err := payloadArg(payload)
	if err != nil {
		return nil, err
	}
	now := storage.Now(clock)
	j, err := scanJob(r.ext.QueryRowxContext(ctx, `
		INSERT INTO queue_jobs (queue_job_id, queue_name, payload, metadata, created_at, status, scheduled_at, schedule_name, attempt)
		VALUES ($1, $2, $3, '{}', $4, $5, $6, $7, 0)
		RETURNING `+jobColumns,
		key(ulidx.New(now)), queueName, p, now, string(status), timeArg(at), textArg(scheduleName)))
	if err != nil {
		return nil, err
	}
	return j, nil
}

// LookupJob returns the job, or ErrNotFound.
func (r queue) LookupJob(ctx context.Context, id ulid.ULID) (*storage.Job, error) {
	j, err := scanJob(r.ext.QueryRowxContext(ctx,
		`SELECT `+jobColumns+` FROM queue_jobs WHERE queue_job_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup job %s: %w", id, err)
	}
	return j, nil
}

// Reserve marks up to n available jobs of the queues running for worker,
// oldest first; rows another transaction holds are skipped.
func (r queue) Reserve(ctx context.Context, clock storage.Clock, worker *storage.Worker, queues []string, n int) ([]*storage.Job, error) {
	if worker == nil {
		return nil, nilArg("reserve jobs", "worker")
	}
	if n < 1 {
		return nil, fmt.Errorf("reserve jobs: limit %d: %w", n, storage.ErrInvalidArgument)
	}
	if queues == nil {
		queues = []string{}
	}
	rows, err := r.ext.QueryxContext(ctx, `
		UPDATE queue_jobs SET status = 'running', started_at = $1, started_by = $2
		WHERE queue_job_id = ANY (ARRAY(
			SELECT queue_job_id FROM queue_jobs
			WHERE status = 'available' AND queue_name = ANY($3)
			ORDER BY queue_job_id
			LIMIT $4
			FOR UPDATE SKIP LOCKED
		))
		RETURNING `+jobColumns, storage.Now(clock), key(worker.ID), pq.Array(queues), n)
	if err != nil {
		return nil, fmt.Errorf("reserve jobs for worker %s: %w", worker.ID, translate(err))
	}
	jobs, err := scanAll(rows, scanJob)
	if err != nil {
		return nil, fmt.Errorf("reserve jobs for worker %s: %w", worker.ID, err)
	}
	slices.SortFunc(jobs, func(a, b *storage.Job) int { return a.ID.Compare(b.ID) })
	return jobs, nil
}

// CompleteJob marks a running job completed.
func (r queue) CompleteJob(ctx context.Context, clock storage.Clock, job *storage.Job) (*storage.Job, error) {
	if job == nil {
		return nil, nilArg("complete job", "job")
	}
	j, err := scanJob(r.ext.QueryRowxContext(ctx, `
		UPDATE queue_jobs SET status = 'completed', completed_at = $1
		WHERE queue_job_id = $2 AND status = 'running'
		RETURNING `+jobColumns, storage.Now(clock), key(job.ID)))
	if err == nil {
		return j, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "queue_jobs", "queue_job_id", job.ID, fmt.Errorf("not running: %w", storage.ErrInvalidState))
	}
	return nil, fmt.Errorf("complete job %s: %w", job.ID, err)
}

// FailJob marks a running job failed with reason.
func (r queue) FailJob(ctx context.Context, clock storage.Clock, job *storage.Job, reason string) (*storage.Job, error) {
	if job == nil {
		return nil, nilArg("fail job", "job")
	}
	j, err := scanJob(r.ext.QueryRowxContext(ctx, `
		UPDATE queue_jobs SET status = 'failed', failed_at = $1, failed_reason = $2
		WHERE queue_job_id = $3 AND status = 'running'
		RETURNING `+jobColumns, storage.Now(clock), reason, key(job.ID)))
	if err == nil {
		return j, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "queue_jobs", "queue_job_id", job.ID, fmt.Errorf("not running: %w", storage.ErrInvalidState))
	}
	return nil, fmt.Errorf("fail job %s: %w", job.ID, err)
}

// RetryJob adds the next attempt of a failed or lost job, scheduled after
// delay (available at once when delay is not positive), and links it, in
// one statement.
func (r queue) RetryJob(ctx context.Context, clock storage.Clock, job *storage.Job, delay time.Duration) (*storage.Job, error) {
	if job == nil {
		return nil, nilArg("retry job", "job")
	}
	now := storage.Now(clock)
	status, at := storage.JobAvailable, (*time.Time)(nil)
	if delay > 0 {
		t := storage.Timestamp(now.Add(delay))
		status, at = storage.JobScheduled, &t
	}
	j, err := scanJob(r.ext.QueryRowxContext(ctx, `
		WITH old AS (
			SELECT queue_job_id, queue_name, payload, metadata, schedule_name, attempt FROM queue_jobs
			WHERE queue_job_id = $1 AND status IN ('failed', 'lost') AND next_attempt_id IS NULL
			FOR UPDATE
		), next AS (
			INSERT INTO queue_jobs (queue_job_id, queue_name, payload, metadata, created_at, status, scheduled_at, schedule_name, attempt)
			SELECT $2, queue_name, payload, metadata, $3, $4, $5, schedule_name, attempt + 1 FROM old
			RETURNING `+jobColumns+`
		), link AS (
			UPDATE queue_jobs SET next_attempt_id = $2 WHERE queue_job_id = (SELECT queue_job_id FROM old)
		)
		SELECT `+jobColumns+` FROM next`,
		key(job.ID), key(ulidx.New(now)), now, string(status), timeArg(at)))
	if err == nil {
		return j, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "queue_jobs", "queue_job_id", job.ID,
			fmt.Errorf("not failed or lost, or retried already: %w", storage.ErrInvalidState))
	}
	return nil, fmt.Errorf("retry job %s: %w", job.ID, err)
}

// PromoteScheduled makes up to limit scheduled jobs whose time has come
// available, through queue_jobs_scheduled_at_idx.
func (r queue) PromoteScheduled(ctx context.Context, clock storage.Clock, limit int) (int, error) {
	if limit < 1 {
		return 0, fmt.Errorf("promote scheduled jobs: limit %d: %w", limit, storage.ErrInvalidArgument)
	}
	res, err := r.ext.ExecContext(ctx, `
		UPDATE queue_jobs SET status = 'available'
		WHERE queue_job_id = ANY (ARRAY(
			SELECT queue_job_id FROM queue_jobs
			WHERE status = 'scheduled' AND scheduled_at <= $1
			ORDER BY scheduled_at, queue_job_id
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		))`, storage.Now(clock), limit)
	if err != nil {
		return 0, fmt.Errorf("promote scheduled jobs: %w", translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("promote scheduled jobs: %w", err)
	}
	return int(n), nil
}

// SetupSchedules makes sure a schedule row exists for each name.
func (r queue) SetupSchedules(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO queue_schedules (schedule_name) SELECT unnest($1::text[])
		ON CONFLICT (schedule_name) DO NOTHING`, pq.Array(names))
	if err != nil {
		return fmt.Errorf("set up schedules: %w", translate(err))
	}
	return nil
}

// RecordScheduled remembers job as the last one the schedule made, now.
func (r queue) RecordScheduled(ctx context.Context, clock storage.Clock, name string, job *storage.Job) error {
	var jobID ulid.ULID
	if job != nil {
		jobID = job.ID
	}
	res, err := r.ext.ExecContext(ctx, `
		UPDATE queue_schedules SET last_scheduled_at = $1, last_scheduled_job_id = $2
		WHERE schedule_name = $3`, storage.Now(clock), ref(jobID), name)
	if err != nil {
		return fmt.Errorf("record job of schedule %q: %w", name, translate(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("record job of schedule %q: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("record job of schedule %q: %w", name, storage.ErrNotFound)
	}
	return nil
}

// ListSchedules returns every schedule, by name.
func (r queue) ListSchedules(ctx context.Context) ([]*storage.Schedule, error) {
	rows, err := r.ext.QueryxContext(ctx, `SELECT `+scheduleColumns+` FROM queue_schedules ORDER BY schedule_name`)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", translate(err))
	}
	list, err := scanAll(rows, scanSchedule)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return list, nil
}

// cleanupJobsQuery deletes, by ULID age, jobs in one of statuses (an SQL
// list); next_attempt_id and queue_schedules.last_scheduled_job_id naming
// one are nulled by their foreign keys.
func cleanupJobsQuery(statuses string) ulidAgeQueries {
	return deleteByULIDAgeQuery("queue_jobs", "queue_job_id", "status IN ("+statuses+")")
}

var (
	cleanupFinishedJobs = cleanupJobsQuery(`'completed', 'failed'`)
	cleanupLostJobs     = cleanupJobsQuery(`'lost'`)
)

// CleanupJobs deletes completed and failed jobs created before `before`.
func (r queue) CleanupJobs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return ulidAgeCleanup(ctx, r.ext, "clean up jobs", cleanupFinishedJobs, after, before, limit)
}

// CleanupLostJobs deletes lost jobs created before `before`.
func (r queue) CleanupLostJobs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return ulidAgeCleanup(ctx, r.ext, "clean up lost jobs", cleanupLostJobs, after, before, limit)
}

// cleanupWorkers examines, by ID, workers shut down or last seen before the
// horizon, and deletes those no job names as its runner and that do not
// lead the queue (started_by and queue_leader's queue_worker_id are NO
// ACTION); the others are skipped.
const cleanupWorkers = `
WITH candidates AS MATERIALIZED (
	SELECT queue_worker_id AS id, NULL::timestamptz AS t FROM queue_workers
	WHERE (shutdown_at < $1 OR last_seen_at < $1) AND queue_worker_id > $2
	ORDER BY queue_worker_id
	LIMIT $3
	FOR UPDATE SKIP LOCKED
), deleted AS (
	DELETE FROM queue_workers WHERE queue_worker_id = ANY (ARRAY(
		SELECT c.id FROM candidates c
		WHERE NOT EXISTS (SELECT 1 FROM queue_jobs j WHERE j.started_by = c.id)
		AND NOT EXISTS (SELECT 1 FROM queue_leader l WHERE l.queue_worker_id = c.id)
	))
	RETURNING 1
)` + cleanupResult

// CleanupWorkers deletes workers shut down or last seen before `before`
// that no job names as its runner, ordered by ID.
func (r queue) CleanupWorkers(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return idCleanup(ctx, r.ext, "clean up workers", cleanupWorkers, after, before, limit)
}
