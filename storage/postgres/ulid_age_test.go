package postgres

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/storage"
)

// addRegistrations adds n registrations a second apart to a new database and
// returns it, their IDs in order, and a horizon an hour after the last.
func addRegistrations(t *testing.T, n int) (*sqlx.DB, []ulid.ULID, time.Time) {
	t.Helper()
	db := pgtest.Migrated(t).DB
	clock := storage.NewTestClock(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC))
	ids := make([]ulid.ULID, n)
	for i := range ids {
		r, err := New(db).Registrations().Add(context.Background(), clock, "user", netip.Addr{}, "")
		require.NoError(t, err)
		ids[i] = r.ID
		clock.Advance(time.Second)
	}
	return db, ids, clock.Advance(time.Hour)
}

func registrationsLeft(t *testing.T, db *sqlx.DB) []ulid.ULID {
	t.Helper()
	var keys []string
	require.NoError(t, db.Select(&keys, `SELECT user_registration_id FROM user_registrations ORDER BY 1`))
	ids := make([]ulid.ULID, len(keys))
	for i, k := range keys {
		require.NoError(t, idCol{&ids[i]}.Scan(k))
	}
	return ids
}

// TestULIDAgeCleanupSharesRangesByClaim: a replica holding a range's claim
// has it to itself; another moves past it, deleting nothing in it, and goes
// on with the next range.
func TestULIDAgeCleanupSharesRangesByClaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ids, before := addRegistrations(t, 5)
	regs := New(db).Registrations()

	other := db.MustBegin()
	defer func() { _ = other.Rollback() }()
	other.MustExec(`SELECT pg_advisory_xact_lock($1, $2)`, cleanupRegistrations.class, claimOf(ulid.ULID{}))

	b, err := regs.CleanupRegistrations(ctx, storage.Cursor{}, before, 2)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{Affected: 0, Scanned: 2, Cursor: storage.Cursor{ID: ids[1]}}, b, "the claimed range is passed")
	b, err = regs.CleanupRegistrations(ctx, b.Cursor, before, 2)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{Affected: 2, Scanned: 2, Cursor: storage.Cursor{ID: ids[3]}}, b)
	require.Equal(t, []ulid.ULID{ids[0], ids[1], ids[4]}, registrationsLeft(t, db))

	// Once the claim is let go, a run from the start deletes the rest, in
	// the tail's batch.
	require.NoError(t, other.Rollback())
	b, err = regs.CleanupRegistrations(ctx, storage.Cursor{}, before, 10)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{Affected: 3, Scanned: 3, Cursor: storage.Cursor{ID: ids[4]}}, b)
	require.Empty(t, registrationsLeft(t, db))
	b, err = regs.CleanupRegistrations(ctx, b.Cursor, before, 10)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{Cursor: storage.Cursor{ID: ids[4]}}, b)
}

// TestULIDAgeCleanupWaitsForHeldRow: a candidate another transaction holds
// is waited for, not skipped, and deleted once it is let go.
func TestULIDAgeCleanupWaitsForHeldRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ids, before := addRegistrations(t, 3)

	other := db.MustBegin()
	defer func() { _ = other.Rollback() }()
	other.MustExec(`SELECT 1 FROM user_registrations WHERE user_registration_id = $1 FOR UPDATE`, key(ids[1]))
	var holder int
	require.NoError(t, other.Get(&holder, `SELECT pg_backend_pid()`))

	type result struct {
		b   storage.Batch
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := New(db).Registrations().CleanupRegistrations(ctx, storage.Cursor{}, before, 2)
		done <- result{b, err}
	}()
	// The batch waits for the holder: some backend is blocked by it.
	require.Eventually(t, func() bool {
		var waiting bool
		require.NoError(t, db.Get(&waiting, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid)))`, holder))
		return waiting
	}, 30*time.Second, 10*time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("the batch did not wait for the held row: %+v, %v", r.b, r.err)
	default:
	}

	require.NoError(t, other.Commit())
	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, storage.Batch{Affected: 2, Scanned: 2, Cursor: storage.Cursor{ID: ids[1]}}, r.b)
	require.Equal(t, []ulid.ULID{ids[2]}, registrationsLeft(t, db))
}
