package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/masstore/masstore/storage"
)

// TakeLeadership makes worker the leader until clock's time + lease when
// the lease is free, expired or already worker's, in one statement, and
// returns the leader after it.
func (r queue) TakeLeadership(ctx context.Context, clock storage.Clock, worker *storage.Worker, lease time.Duration) (*storage.Leader, error) {
	if worker == nil {
		return nil, nilArg("take leadership", "worker")
	}
	if lease < time.Second {
		return nil, fmt.Errorf("take leadership: lease %s under one second: %w", lease, storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	var shutDown bool
	if err := r.ext.QueryRowxContext(ctx, `SELECT shutdown_at IS NOT NULL FROM queue_workers WHERE queue_worker_id = $1`,
		key(worker.ID)).Scan(&shutDown); err != nil {
		return nil, fmt.Errorf("take leadership for worker %s: %w", worker.ID, translate(err))
	}
	if shutDown {
		return nil, fmt.Errorf("take leadership for worker %s: shut down: %w", worker.ID, storage.ErrInvalidState)
	}
	if _, err := r.ext.ExecContext(ctx, `
		INSERT INTO queue_leader (elected_at, expires_at, queue_worker_id) VALUES ($1, $2, $3)
		ON CONFLICT (active) DO UPDATE SET
			elected_at = CASE WHEN queue_leader.queue_worker_id = EXCLUDED.queue_worker_id THEN queue_leader.elected_at ELSE EXCLUDED.elected_at END,
			expires_at = EXCLUDED.expires_at,
			queue_worker_id = EXCLUDED.queue_worker_id
		WHERE queue_leader.expires_at <= $1 OR queue_leader.queue_worker_id = EXCLUDED.queue_worker_id`,
		now, now.Add(lease), key(worker.ID)); err != nil {
		return nil, fmt.Errorf("take leadership for worker %s: %w", worker.ID, translate(err))
	}
	return r.LookupLeader(ctx)
}

// LookupLeader returns the leader, expired or not.
func (r queue) LookupLeader(ctx context.Context) (*storage.Leader, error) {
	var l storage.Leader
	err := r.ext.QueryRowxContext(ctx, `SELECT queue_worker_id, elected_at, expires_at FROM queue_leader`).
		Scan(idCol{&l.WorkerID}, timeCol{&l.ElectedAt}, timeCol{&l.ExpiresAt})
	if err != nil {
		return nil, fmt.Errorf("look up the queue leader: %w", translate(err))
	}
	return &l, nil
}
