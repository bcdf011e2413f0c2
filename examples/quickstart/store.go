package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver

	"github.com/masstore/masstore/schema"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/memory"
	"github.com/masstore/masstore/storage/postgres"
)

// openStore returns the in-memory store, or a migrated PostgreSQL one.
func openStore(ctx context.Context, dsn string) (storage.Store, string, func(), error) {
	if dsn == "" {
		return memory.New(), "the in-memory store", func() {}, nil
	}
	where := "PostgreSQL"
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		where = "PostgreSQL " + u.Redacted()
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, "", nil, fmt.Errorf("open %s: %w", where, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, "", nil, fmt.Errorf("connect to %s: %w", where, err)
	}
	if err := schema.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, "", nil, err
	}
	var users int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil {
		db.Close()
		return nil, "", nil, err
	}
	if users > 0 {
		db.Close()
		return nil, "", nil, fmt.Errorf("%s already has %d users: the quickstart runs every cleanup job and wants an empty scratch database", where, users)
	}
	return postgres.New(sqlx.NewDb(db, "postgres")), where, func() { db.Close() }, nil
}
