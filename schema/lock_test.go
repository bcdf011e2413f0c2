package schema_test

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/schema"
)

// A migration that waits for a lock an application transaction holds gives
// up after the lock timeout and tries again, so the application's queries
// queued behind it wait no longer than that.
func TestMigrationLockWaitsAreBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	files := fstest.MapFS{
		"0001_table.sql":  {Data: []byte("CREATE TABLE t (x int); INSERT INTO t VALUES (1);")},
		"0002_column.sql": {Data: []byte("ALTER TABLE t ADD COLUMN y int;")},
	}

	t.Run("RetriesUntilTheLockIsFree", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		m, err := schema.NewMigrator(db.DB.DB, schema.WithMigrations(files), schema.WithLockTimeout(100*time.Millisecond, 100))
		require.NoError(t, err)
		require.NoError(t, m.MigrateTo(ctx, 1))

		app, err := db.DB.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = app.ExecContext(ctx, `UPDATE t SET x = 2`)
		require.NoError(t, err)

		migrated := make(chan error, 1)
		go func() { migrated <- m.Migrate(ctx) }()

		// While the migration keeps trying, readers are never stuck behind
		// it for much longer than its lock timeout.
		var longest time.Duration
		for i := 0; i < 10; i++ {
			start := time.Now()
			var n int
			require.NoError(t, db.DB.GetContext(ctx, &n, `SELECT count(*) FROM t`))
			longest = max(longest, time.Since(start))
			time.Sleep(50 * time.Millisecond)
		}
		require.Less(t, longest, 2*time.Second, "a reader waited behind the migration")
		require.NoError(t, app.Commit())
		require.NoError(t, <-migrated)

		var cols int
		require.NoError(t, db.DB.Get(&cols, `SELECT count(*) FROM information_schema.columns WHERE table_name = 't'`))
		require.Equal(t, 2, cols)
	})

	t.Run("GivesUpAfterItsAttempts", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		m, err := schema.NewMigrator(db.DB.DB, schema.WithMigrations(files), schema.WithLockTimeout(50*time.Millisecond, 2))
		require.NoError(t, err)
		require.NoError(t, m.MigrateTo(ctx, 1))
		app, err := db.DB.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer app.Rollback() //nolint:errcheck // the test ends here
		_, err = app.ExecContext(ctx, `UPDATE t SET x = 2`)
		require.NoError(t, err)

		err = m.Migrate(ctx)
		require.ErrorContains(t, err, "migration 0002_column")
		require.ErrorContains(t, err, "lock timeout")
	})

	t.Run("OptionsAreChecked", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		_, err := schema.NewMigrator(db.DB.DB, schema.WithLockTimeout(-time.Second, 1))
		require.ErrorContains(t, err, "lock timeout")
		_, err = schema.NewMigrator(db.DB.DB, schema.WithLockTimeout(time.Second, 0))
		require.ErrorContains(t, err, "at least one attempt")
	})
}
