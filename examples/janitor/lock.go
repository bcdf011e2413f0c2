package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
)

// jobLockKey is the key of the job's advisory lock: the 64-bit FNV-1a hash
// of "masstore-janitor/" and its name. pg_locks shows it as classid (high
// 32 bits) and objid (low 32 bits), with locktype 'advisory'.
func jobLockKey(job string) int64 {
	h := fnv.New64a()
	h.Write([]byte("masstore-janitor/" + job))
	return int64(h.Sum64())
}

// tryJobLock takes the job's advisory lock, without waiting, on a
// connection of its own that holds it until release. It is a session lock:
// if the process dies, the connection closes and PostgreSQL releases it.
// ok is false when another session holds it.
func tryJobLock(ctx context.Context, db *sql.DB, job string) (release func(), ok bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", job, err)
	}
	key := jobLockKey(job)
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("lock %s: %w", job, err)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	return func() {
		var released bool
		err := conn.QueryRowContext(context.Background(), `SELECT pg_advisory_unlock($1)`, key).Scan(&released)
		if err != nil || !released {
			// Never hand a connection that may still hold the lock back to
			// the pool: throw it away, and the lock with it.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, true, nil
}
