// Package postgres is the PostgreSQL backend of package storage, on the schema
// of Matrix Authentication Service (see package schema), through sqlx and
// lib/pq.
//
// [New] returns a [Store] on a connection pool. [NewRepository] works on a
// *sqlx.DB or on a *sqlx.Tx the caller manages, and [Transact] runs a
// function in one transaction. Operations that take several statements run
// in a transaction of their own on a pool and inside the caller's
// transaction on a *sqlx.Tx.
//
// Every cleanup batch deletes in a single statement: its candidates are
// picked with FOR UPDATE SKIP LOCKED through the table's cleanup index, and
// the rows that reference them are deleted or nulled by sibling
// data-modifying CTEs, so a batch is atomic, short, and never counted twice
// by concurrent replicas. The cleanups by ULID age (grants, registrations,
// recovery sessions, email authentications, abandoned SSO logins, policy
// data, queue jobs) lock nothing first: a batch reads its range's end from
// the primary key, then deletes the range with a plain DELETE if it takes
// the range's advisory lock, so that replicas share the ranges; a row
// another transaction holds is waited for (see ulid_age.go). The finished
// compat and OAuth 2.0 session cleanups can also run as windows: one
// statement reads candidates ahead without locking them, then statements
// like the batch's delete them by primary key, in ID order, rechecking each
// under its lock. [Store.Backlog] counts, with the same conditions and
// indexes, what each job would affect now.
package postgres
