package syn2mas

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// synapseTables are the Synapse tables a migration reads and locks.
var synapseTables = []string{"users", "user_threepids", "user_external_ids", "devices", "access_tokens", "refresh_tokens"}

// autovacuumWait bounds the wait for a lock autovacuum holds: autovacuum
// gives its lock up when someone waits for it (after deadlock_timeout, 1 s
// by default), so this is only reached if it does not.
const autovacuumWait = "30s"

// openSynapse begins the read transaction on Synapse and locks its tables.
// The tables are locked before the transaction's snapshot is taken (its
// first query), so no write can slip in between what is read and what is
// locked. A table that cannot be locked at once is an error wrapping
// [ErrSynapseInUse] naming who holds it, unless only autovacuum does: then
// the lock is waited for, as autovacuum steps aside for it.
func openSynapse(ctx context.Context, db *sql.DB, dryRun bool) (*sqlx.Tx, error) {
	sdb := sqlx.NewDb(db, "postgres")
	if err := VerifySynapseSchema(ctx, sdb); err != nil {
		return nil, err
	}
	tx, err := sdb.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to the synapse database: %w", err)
	}
	if err := lockSynapse(ctx, db, tx, dryRun); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return tx, nil
}

func lockSynapse(ctx context.Context, db *sql.DB, tx *sqlx.Tx, dryRun bool) error {
	if _, err := tx.ExecContext(ctx, `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE`); err != nil {
		return fmt.Errorf("begin the synapse read transaction: %w", err)
	}
	if err := noticeClientGone(ctx, tx, true); err != nil {
		return fmt.Errorf("begin the synapse read transaction: %w", err)
	}
	mode := "EXCLUSIVE"
	if dryRun {
		mode = "ACCESS SHARE"
	}
	for _, table := range synapseTables {
		lock := `LOCK TABLE ` + table + ` IN ` + mode + ` MODE`
		// A failed statement ends a transaction; a savepoint keeps it.
		if _, err := tx.ExecContext(ctx, `SAVEPOINT syn2mas_lock`); err != nil {
			return fmt.Errorf("lock synapse table %s: %w", table, err)
		}
		_, err := tx.ExecContext(ctx, lock+` NOWAIT`)
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "55P03" { // lock_not_available
			if err != nil {
				return fmt.Errorf("lock synapse table %s: %w", table, err)
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT syn2mas_lock`); err != nil {
			return fmt.Errorf("lock synapse table %s: %w", table, err)
		}
		// Who holds it? Asked on another connection: a query here would
		// take the snapshot before the locks.
		holders, onlyAutovacuum, err := lockHolders(ctx, db, table)
		if err != nil {
			return fmt.Errorf("lock synapse table %s: %w (and finding who holds it failed: %v)", table, ErrSynapseInUse, err)
		}
		if !onlyAutovacuum {
			return fmt.Errorf("lock synapse table %s: %w; held by %s", table, ErrSynapseInUse, holders)
		}
		if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+autovacuumWait+`'`); err != nil {
			return fmt.Errorf("lock synapse table %s: %w", table, err)
		}
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return fmt.Errorf("lock synapse table %s, held by %s: %w", table, holders, err)
		}
		if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = 0`); err != nil {
			return fmt.Errorf("lock synapse table %s: %w", table, err)
		}
	}
	return nil
}

// lockHolders describes the sessions holding a lock on table, and whether
// waiting is safe: they are all autovacuum workers, or none is left.
func lockHolders(ctx context.Context, db *sql.DB, table string) (string, bool, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT a.pid, coalesce(a.backend_type, ''), coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local'), coalesce(a.state, '')
		FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		WHERE l.locktype = 'relation' AND l.relation = to_regclass($1) AND l.granted AND a.pid <> pg_backend_pid()
		ORDER BY a.pid`, table)
	if err != nil {
		return "", false, err
	}
	defer rows.Close()
	var list []string
	only := true
	for rows.Next() {
		var pid int
		var backend, app, client, state string
		if err := rows.Scan(&pid, &backend, &app, &client, &state); err != nil {
			return "", false, err
		}
		if backend == "autovacuum worker" {
			list = append(list, fmt.Sprintf("autovacuum (pid %d)", pid))
			continue
		}
		only = false
		who := fmt.Sprintf("pid %d from %s", pid, client)
		if app != "" {
			who += fmt.Sprintf(" (application %q)", app)
		}
		if state != "" {
			who += ", " + state
		}
		list = append(list, who)
	}
	if err := rows.Err(); err != nil {
		return "", false, err
	}
	if len(list) == 0 { // it let go meanwhile: the wait is short
		return "a session that has let go since", true, nil
	}
	return strings.Join(list, "; "), only, nil
}
