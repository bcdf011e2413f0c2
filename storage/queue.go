package storage

import (
	"context"
	"encoding/json"
	"time"

	"github.com/oklog/ulid/v2"
)

// JobStatus is the state of a queue job (MAS's queue_job_status).
type JobStatus string

// The job states.
const (
	JobAvailable JobStatus = "available"
	JobRunning   JobStatus = "running"
	JobCompleted JobStatus = "completed"
	JobLost      JobStatus = "lost"
	JobFailed    JobStatus = "failed"
	JobScheduled JobStatus = "scheduled"
)

// Worker is a process that takes jobs from the queue.
type Worker struct {
	ID           ulid.ULID
	RegisteredAt time.Time
	LastSeenAt   time.Time
	ShutdownAt   *time.Time
}

// Job is one attempt at a unit of background work.
type Job struct {
	ID            ulid.ULID
	Queue         string
	Payload       json.RawMessage
	Status        JobStatus
	CreatedAt     time.Time
	ScheduledAt   *time.Time // when a scheduled job becomes available
	ScheduleName  string     // the recurring schedule that made it; empty when none
	StartedAt     *time.Time
	StartedBy     ulid.ULID // the worker that took this attempt, kept after it ends; zero when none
	CompletedAt   *time.Time
	FailedAt      *time.Time
	FailedReason  string
	Attempt       int       // 0 for the first attempt
	NextAttemptID ulid.ULID // the retry made of this attempt; zero when none
}

// Leader is the queue worker that leads the queue (runs its schedules)
// until ExpiresAt. There is at most one.
type Leader struct {
	WorkerID  ulid.ULID
	ElectedAt time.Time
	ExpiresAt time.Time
}

// Schedule is a recurring job's bookkeeping.
type Schedule struct {
	Name               string
	LastScheduledAt    *time.Time
	LastScheduledJobID ulid.ULID
}

// QueueRepository stores workers, jobs and schedules.
type QueueRepository interface {
	// RegisterWorker adds a worker, seen now.
	RegisterWorker(ctx context.Context, clock Clock) (*Worker, error)
	// Heartbeat records the worker as seen now; a shut-down worker is ErrInvalidState.
	Heartbeat(ctx context.Context, clock Clock, worker *Worker) (*Worker, error)
	// ShutdownWorker marks the worker shut down (LastSeenAt stays); twice is
	// ErrAlreadyFinished. Its running jobs become lost, and if it leads the
	// queue it steps down: the lease is released, not left to expire, so
	// another worker can take it at once (as MAS does).
	ShutdownWorker(ctx context.Context, clock Clock, worker *Worker) (*Worker, error)
	// LookupWorker returns the worker, or ErrNotFound.
	LookupWorker(ctx context.Context, id ulid.ULID) (*Worker, error)

	// TakeLeadership makes worker the leader until clock's time + lease
	// when there is no leader, the leader's lease expired, or worker is
	// already the leader (its lease is then extended, ElectedAt kept). It
	// returns the leader after the call: worker's ID or another's. A
	// shut-down worker is ErrInvalidState; a lease below one second
	// ErrInvalidArgument.
	TakeLeadership(ctx context.Context, clock Clock, worker *Worker, lease time.Duration) (*Leader, error)
	// LookupLeader returns the leader, expired or not, or ErrNotFound.
	LookupLeader(ctx context.Context) (*Leader, error)

	// Enqueue adds an available job (a nil payload is {}); an empty queue
	// name is ErrInvalidArgument.
	Enqueue(ctx context.Context, clock Clock, queue string, payload json.RawMessage) (*Job, error)
	// ScheduleJob adds a job that becomes available at `at`; scheduleName,
	// when not empty, names a schedule made by SetupSchedules (else
	// ErrNotFound) that the job belongs to.
	ScheduleJob(ctx context.Context, clock Clock, queue string, payload json.RawMessage, at time.Time, scheduleName string) (*Job, error)
	// ScheduleJobs adds, all or none, one job on queue for each of jobs, in
	// order: what ScheduleJob(ctx, clock, queue, j.Payload, j.At, "") does
	// for each j (PostgreSQL: in one statement). It returns how many it
	// added. An empty queue name, or a payload that is not JSON, is
	// ErrInvalidArgument and adds none.
	ScheduleJobs(ctx context.Context, clock Clock, queue string, jobs []ScheduledJob) (int, error)
	// LookupJob returns the job, or ErrNotFound.
	LookupJob(ctx context.Context, id ulid.ULID) (*Job, error)
	// Reserve marks up to n available jobs of the given queues running for
	// worker, oldest first, and returns them. Rows another transaction holds
	// are skipped, so concurrent workers never get the same job. n below 1 is
	// ErrInvalidArgument.
	Reserve(ctx context.Context, clock Clock, worker *Worker, queues []string, n int) ([]*Job, error)
	// CompleteJob marks a running job completed; a job not running is ErrInvalidState.
	CompleteJob(ctx context.Context, clock Clock, job *Job) (*Job, error)
	// FailJob marks a running job failed with reason; not running is ErrInvalidState.
	FailJob(ctx context.Context, clock Clock, job *Job, reason string) (*Job, error)
	// RetryJob adds a new attempt (Attempt+1) of a failed or lost job,
	// available after delay (at once when delay <= 0), and links it as the
	// job's next attempt; a job in any other state, or already retried, is
	// ErrInvalidState.
	RetryJob(ctx context.Context, clock Clock, job *Job, delay time.Duration) (*Job, error)
	// PromoteScheduled makes up to limit scheduled jobs whose time has come
	// available, oldest due first, and returns how many; limit below 1 is
	// ErrInvalidArgument.
	PromoteScheduled(ctx context.Context, clock Clock, limit int) (int, error)

	// SetupSchedules makes sure a schedule row exists for each name.
	SetupSchedules(ctx context.Context, names []string) error
	// RecordScheduled remembers job as the last one the schedule made; an
	// unknown schedule name is ErrNotFound.
	RecordScheduled(ctx context.Context, clock Clock, name string, job *Job) error
	// ListSchedules returns every schedule, by name.
	ListSchedules(ctx context.Context) ([]*Schedule, error)

	// CleanupJobs deletes completed and failed jobs created (ULID age) before
	// `before`; another job's next_attempt_id and a schedule's last job naming
	// one are nulled. See CleanupFunc.
	CleanupJobs(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CleanupLostJobs deletes lost jobs created (ULID age) before `before`,
	// likewise. See CleanupFunc.
	CleanupLostJobs(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CleanupWorkers deletes workers last seen before `before` (a shut-down
	// worker is last seen at its shutdown at the latest), ordered by ID (the
	// cursor's Time stays zero); workers some job still names as StartedBy,
	// and the leader, are skipped. See CleanupFunc.
	CleanupWorkers(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
}

// ScheduledJob is one job of a ScheduleJobs call: its payload (nil is {})
// and when it becomes available.
type ScheduledJob struct {
	Payload json.RawMessage
	At      time.Time
}
