package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/masstore/masstore/cleanup"
)

// runLogTable is the janitor's own table, beside MAS's (as
// masstore_schema_migrations is): one row per job, its last run that
// changed the database. backlog reads it for the rate behind its ETA.
const runLogTable = "masstore_janitor_runs"

// lastRun is a job's last recorded run.
type lastRun struct {
	Finished time.Time
	Affected int64
	Duration time.Duration
	// Tick is the scheduled time the run was for; zero for a --once run.
	Tick time.Time
}

// rate is the run's rows per second; 0 when it affected nothing or took no
// measurable time.
func (r lastRun) rate() float64 {
	if r.Affected == 0 || r.Duration <= 0 {
		return 0
	}
	return float64(r.Affected) / r.Duration.Seconds()
}

// ensureRunLog creates the run log if it is missing.
func ensureRunLog(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+runLogTable+` (
		job text PRIMARY KEY,
		finished_at timestamptz NOT NULL,
		affected bigint NOT NULL,
		duration_ms bigint NOT NULL,
		tick timestamptz)`)
	if err != nil {
		return fmt.Errorf("create %s: %w", runLogTable, err)
	}
	return nil
}

// recordRun keeps r as its job's last run, for the scheduled tick (zero:
// none). Dry runs change nothing, so they are not recorded.
func recordRun(ctx context.Context, db *sql.DB, r cleanup.Report, finished, tick time.Time) error {
	if r.DryRun {
		return nil
	}
	var t sql.NullTime
	if !tick.IsZero() {
		t = sql.NullTime{Time: tick, Valid: true}
	}
	_, err := db.ExecContext(ctx, `INSERT INTO `+runLogTable+` (job, finished_at, affected, duration_ms, tick)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (job) DO UPDATE SET finished_at = EXCLUDED.finished_at,
			affected = EXCLUDED.affected, duration_ms = EXCLUDED.duration_ms, tick = EXCLUDED.tick`,
		r.Job, finished, r.Affected, r.Duration.Milliseconds(), t)
	if err != nil {
		return fmt.Errorf("record the run of %s in %s: %w", r.Job, runLogTable, err)
	}
	return nil
}

// lastRuns reads the run log; a database the janitor never ran on has none.
func lastRuns(ctx context.Context, db *sql.DB) (map[string]lastRun, error) {
	rows, err := db.QueryContext(ctx, `SELECT job, finished_at, affected, duration_ms, tick FROM `+runLogTable)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "42P01" { // undefined_table
		return map[string]lastRun{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", runLogTable, err)
	}
	defer rows.Close()
	out := map[string]lastRun{}
	for rows.Next() {
		var job string
		var r lastRun
		var ms int64
		var tick sql.NullTime
		if err := rows.Scan(&job, &r.Finished, &r.Affected, &ms, &tick); err != nil {
			return nil, fmt.Errorf("read %s: %w", runLogTable, err)
		}
		r.Duration = time.Duration(ms) * time.Millisecond
		r.Tick = tick.Time
		out[job] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", runLogTable, err)
	}
	return out, nil
}
