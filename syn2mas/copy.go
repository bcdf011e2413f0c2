package syn2mas

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/lib/pq"
)

// copyBatch is how many rows a writer is handed at once.
const copyBatch = 1024

// copyWriter streams rows into one loading table with a single COPY, on a
// connection and transaction of its own. Rows go in through add; close
// flushes the COPY and commits. The first error stops the writer and cancels
// the load through fail.
type copyWriter struct {
	table string
	cols  []string
	ch    chan [][]any
	batch [][]any
	done  chan struct{}
	close sync.Once
	err   error
	rows  int64
}

// copyWriters are the load's writers, one per target table.
type copyWriters struct {
	ctx    context.Context
	fail   context.CancelCauseFunc
	byName map[string]*copyWriter
	all    []*copyWriter
	wg     sync.WaitGroup
}

// tableColumns are the columns each target table is loaded with; the rest
// keep their defaults (NULL, or false for the booleans).
var tableColumns = map[string][]string{
	"users":                            {"user_id", "username", "created_at", "locked_at", "deactivated_at", "can_request_admin", "is_guest"},
	"user_passwords":                   {"user_password_id", "user_id", "hashed_password", "version", "created_at"},
	"user_emails":                      {"user_email_id", "user_id", "email", "created_at"},
	"user_unsupported_third_party_ids": {"user_id", "medium", "address", "created_at"},
	"upstream_oauth_links":             {"upstream_oauth_link_id", "upstream_oauth_provider_id", "user_id", "subject", "created_at"},
	"compat_sessions":                  {"compat_session_id", "user_id", "device_id", "human_name", "created_at", "is_synapse_admin", "last_active_at", "last_active_ip", "user_agent"},
	"compat_access_tokens":             {"compat_access_token_id", "compat_session_id", "access_token", "created_at", "expires_at"},
	"compat_refresh_tokens":            {"compat_refresh_token_id", "compat_session_id", "compat_access_token_id", "refresh_token", "created_at"},
}

// startWriters opens one connection per target table on db and starts a
// COPY into each loading table. Cancelling ctx, or any writer failing,
// aborts them all; wait reports the first error.
func startWriters(ctx context.Context, db *sql.DB) (*copyWriters, error) {
	ctx, fail := context.WithCancelCause(ctx)
	ws := &copyWriters{ctx: ctx, fail: fail, byName: map[string]*copyWriter{}}
	for _, table := range targetTables {
		conn, err := db.Conn(ctx)
		if err != nil {
			fail(err)
			ws.wait()
			return nil, fmt.Errorf("open a MAS writer connection: %w", err)
		}
		w := &copyWriter{table: table, cols: tableColumns[table], ch: make(chan [][]any, 4), done: make(chan struct{})}
		ws.byName[table], ws.all = w, append(ws.all, w)
		ws.wg.Add(1)
		go func() {
			defer ws.wg.Done()
			defer close(w.done)
			defer conn.Close()
			if w.err = w.run(ctx, conn); w.err != nil {
				fail(w.err)
				for range w.ch { // unblock a sender until it sees the cancellation
				}
			}
		}()
	}
	return ws, nil
}

func (w *copyWriter) run(ctx context.Context, conn *sql.Conn) error {
	// The transaction is not bound to ctx: database/sql would roll it back
	// from another goroutine on cancellation while lib/pq's COPY reads the
	// connection (a data race in the driver). The writer stops between
	// batches instead, and rolls back itself.
	dbctx := context.WithoutCancel(ctx)
	tx, err := conn.BeginTx(dbctx, nil)
	if err != nil {
		return fmt.Errorf("write %s: begin: %w", w.table, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := noticeClientGone(dbctx, tx, true); err != nil {
		return fmt.Errorf("write %s: set up the connection: %w", w.table, err)
	}
	cols := make([]string, len(w.cols))
	for i, c := range w.cols {
		cols[i] = pq.QuoteIdentifier(c)
	}
	copyIn := `COPY ` + pq.QuoteIdentifier(loadingPrefix+w.table) + ` (` + strings.Join(cols, ", ") + `) FROM STDIN`
	stmt, err := tx.PrepareContext(dbctx, copyIn)
	if err != nil {
		return fmt.Errorf("write %s: start COPY: %w", w.table, err)
	}
	defer stmt.Close()
	for batch := range w.ch {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		for _, row := range batch {
			if _, err := stmt.ExecContext(dbctx, row...); err != nil {
				return fmt.Errorf("write %s: COPY: %w", w.table, connectionLost(err))
			}
		}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if _, err := stmt.ExecContext(dbctx); err != nil {
		return fmt.Errorf("write %s: finish COPY: %w", w.table, connectionLost(err))
	}
	if err := stmt.Close(); err != nil {
		return fmt.Errorf("write %s: finish COPY: %w", w.table, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write %s: commit: %w", w.table, err)
	}
	return nil
}

// connectionLost says in words what lib/pq's driver.ErrBadConn means during
// a COPY: the server ended the connection (pg_terminate_backend, a restart,
// a failover) or the network failed. The error still matches ErrBadConn.
func connectionLost(err error) error {
	if errors.Is(err, driver.ErrBadConn) {
		return fmt.Errorf("the connection to the MAS database was lost (ended by the server, or the network failed): %w", err)
	}
	return err
}

// add queues one row for table. It returns the load's error once it has
// failed or been cancelled.
func (ws *copyWriters) add(table string, row ...any) error {
	w := ws.byName[table]
	w.batch = append(w.batch, row)
	w.rows++
	if len(w.batch) < copyBatch {
		return nil
	}
	return ws.flush(w)
}

func (ws *copyWriters) flush(w *copyWriter) error {
	if len(w.batch) == 0 {
		return nil
	}
	select {
	case w.ch <- w.batch:
		w.batch = make([][]any, 0, copyBatch)
		return nil
	case <-ws.ctx.Done():
		return context.Cause(ws.ctx)
	}
}

// finish flushes every writer's last rows, ends the COPYs and commits them.
// It returns the first error of the load.
func (ws *copyWriters) finish() error {
	var err error
	for _, w := range ws.all {
		if err == nil {
			err = ws.flush(w)
		}
	}
	if err != nil {
		ws.fail(err)
	}
	return ws.wait()
}

// abort stops every writer without committing, and returns the load's
// first error: a writer's, when one failed first (the reader then only saw
// the cancellation), else cause.
func (ws *copyWriters) abort(cause error) error {
	ws.fail(cause)
	return ws.wait()
}

func (ws *copyWriters) wait() error {
	for _, w := range ws.all {
		w.close.Do(func() { close(w.ch) })
	}
	ws.wg.Wait()
	// The first failure cancelled the context with itself as the cause.
	var err error
	if ws.ctx.Err() != nil {
		err = context.Cause(ws.ctx)
	}
	ws.fail(context.Canceled) // release the context; a no-op when it failed
	return err
}

// rowCount returns how many rows were queued for table.
func (ws *copyWriters) rowCount(table string) int64 { return ws.byName[table].rows }
