package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// A cleanup by ULID age deletes rows that go by age alone, in ID order
// through the primary key, in two statements a batch: the first reads the
// batch's last candidate (the limit-th after the cursor, from the index
// alone), the second deletes the range up to it with a plain DELETE.
//
// It locks nothing first. Locking each candidate FOR UPDATE SKIP LOCKED,
// then deleting it, writes every row twice: at full size that made these
// jobs up to 2.3x one DELETE of the whole backlog; the range form is within
// 0.9-1.33x of it (BENCHMARKS.md). What a lock bought is kept otherwise:
//
//   - Replicas running the same job share it by range: the delete runs only
//     if it takes the range's claim, a transaction-level advisory lock named
//     by the job and the range's start (pg_try_advisory_xact_lock, in the
//     two-key space, apart from the janitor's one-key job locks). A replica
//     that finds the claim taken moves past the range, which the holder
//     deletes; the next range is one both may try for, and one of them gets.
//     A claim is a 32-bit hash of the start, so two replicas in two ranges
//     can collide: one then leaves its range to the next run.
//   - A row another transaction holds (the host's server updating it, a
//     replica whose range overlaps because its batches are of another size)
//     is waited for, as long as that transaction, rather than skipped. The
//     rows these jobs delete are past their retention, which no server
//     writes to.

// ulidAgeQueries are the statements of one cleanup by ULID age.
type ulidAgeQueries struct {
	// bound takes $1 the horizon ID, $2 the cursor's ID, $3 the limit; it
	// returns the limit-th candidate after the cursor, NULL if there are
	// fewer.
	bound string
	// full takes $1 the horizon ID, $2 the cursor's ID, $3 the bound, $4 the
	// claim; it deletes the candidates after the cursor up to the bound.
	full string
	// tail takes $1 the horizon ID, $2 the cursor's ID, $3 the claim; it
	// deletes every candidate after the cursor and returns how many and the
	// last of them.
	tail string
	// class names the job in its claims: the advisory locks' first key.
	class int32
}

// deleteByULIDAgeQuery returns the statements deleting table's rows created
// before the horizon ID, for tables whose rows go by age alone: what
// references them is handled by its foreign keys (cascade or set null).
// where, if not empty, narrows the candidates further (an SQL condition on
// the table's columns).
func deleteByULIDAgeQuery(table, idColumn, where string) ulidAgeQueries {
	h := fnv.New32a()
	fmt.Fprintf(h, "masstore cleanup by ULID age: %s WHERE %s", table, where)
	class := int32(h.Sum32())
	if where != "" {
		where += " AND "
	}
	match := where + idColumn + ` < $1 AND ` + idColumn + ` > $2`
	// deleteFrom deletes the candidates if it takes the claim, parameter n.
	deleteFrom := func(n int) string {
		return fmt.Sprintf(`DELETE FROM %s WHERE (SELECT pg_try_advisory_xact_lock(%d, $%d::int4)) AND %s`, table, class, n, match)
	}
	return ulidAgeQueries{
		bound: `SELECT (SELECT ` + idColumn + ` FROM ` + table + ` WHERE ` + match + `
	ORDER BY ` + idColumn + ` OFFSET $3::int - 1 LIMIT 1)`,
		full: deleteFrom(4) + ` AND ` + idColumn + ` <= $3`,
		tail: `WITH deleted AS (
	` + deleteFrom(3) + `
	RETURNING ` + idColumn + ` AS id
)
SELECT count(*), (SELECT id FROM deleted ORDER BY id DESC LIMIT 1) FROM deleted`,
		class: class,
	}
}

// claimOf is the claim of the range after the cursor id: the advisory
// lock's second key.
func claimOf(id ulid.ULID) int32 {
	h := fnv.New32a()
	_, _ = h.Write(id[:])
	return int32(h.Sum32())
}

// ulidAgeCleanup runs one batch of a cleanup by ULID age. A full batch scans
// limit candidates (those in its range when it read the bound) and moves the
// cursor to the bound, whether it deleted them or another replica held the
// range; the batch after the last bound deletes what is left and scans what
// it deleted.
func ulidAgeCleanup(ctx context.Context, ext sqlx.ExtContext, name string, q ulidAgeQueries, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	if err := checkLimit(name, limit); err != nil {
		return storage.Batch{}, err
	}
	horizon, from, claim := key(ulidx.Horizon(before)), key(after.ID), claimOf(after.ID)
	var bound ulid.ULID
	if err := ext.QueryRowxContext(ctx, q.bound, horizon, from, limit).Scan(idCol{&bound}); err != nil {
		return storage.Batch{}, fmt.Errorf("%s: %w", name, translate(err))
	}
	if bound != (ulid.ULID{}) {
		res, err := ext.ExecContext(ctx, q.full, horizon, from, key(bound), claim)
		if err != nil {
			return storage.Batch{}, fmt.Errorf("%s: %w", name, translateDelete(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return storage.Batch{}, fmt.Errorf("%s: %w", name, err)
		}
		return storage.Batch{Affected: int(n), Scanned: limit, Cursor: storage.Cursor{ID: bound}}, nil
	}
	b := storage.Batch{Cursor: after}
	var last ulid.ULID
	if err := ext.QueryRowxContext(ctx, q.tail, horizon, from, claim).Scan(&b.Affected, idCol{&last}); err != nil {
		return storage.Batch{}, fmt.Errorf("%s: %w", name, translateDelete(err))
	}
	b.Scanned = b.Affected
	if b.Affected > 0 {
		b.Cursor = storage.Cursor{ID: last}
	}
	return b, nil
}
