package schema_test

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/schema"
)

func countApplied(t *testing.T, db *pgtest.Database) int {
	t.Helper()
	var n int
	require.NoError(t, db.DB.Get(&n, `SELECT count(*) FROM masstore_schema_migrations`))
	return n
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("FreshDatabaseMatchesTheCatalogExactly", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		require.NoError(t, schema.Migrate(ctx, db.DB.DB))

		want := schema.Expected()
		maps.Copy(want.Indexes, schema.Additions().Indexes)
		got, err := schema.Inspect(ctx, db.DB.DB, want.Tables())
		require.NoError(t, err)
		require.Empty(t, schema.Diff(want, got), "missing or different")
		require.Empty(t, schema.Diff(got, want), "present but not in the catalog")
		require.Len(t, want.Tables(), 33)
	})

	t.Run("SecondRunIsANoOp", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		require.NoError(t, schema.Migrate(ctx, db.DB.DB))
		var before []string
		require.NoError(t, db.DB.Select(&before, `SELECT version || ' ' || applied_at FROM masstore_schema_migrations ORDER BY version`))
		require.NoError(t, schema.Migrate(ctx, db.DB.DB))
		var after []string
		require.NoError(t, db.DB.Select(&after, `SELECT version || ' ' || applied_at FROM masstore_schema_migrations ORDER BY version`))
		require.Equal(t, before, after)
		require.Len(t, after, len(schema.Migrations()))
	})

	t.Run("ConcurrentMigratorsTakeTurns", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = schema.Migrate(ctx, db.DB.DB)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, len(schema.Migrations()), countApplied(t, db))
		findings, err := schema.Verify(ctx, db.DB.DB)
		require.NoError(t, err)
		require.Empty(t, findings)
	})

	t.Run("TamperedChecksumIsRefused", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		require.NoError(t, schema.Migrate(ctx, db.DB.DB))
		_, err := db.DB.Exec(`UPDATE masstore_schema_migrations SET checksum = 'edited' WHERE version = 6`)
		require.NoError(t, err)

		err = schema.Migrate(ctx, db.DB.DB)
		require.ErrorIs(t, err, schema.ErrChecksumMismatch)
		require.ErrorContains(t, err, "0006_refresh_token_next_set_null")
		_, err = schema.Status(ctx, db.DB.DB)
		require.ErrorIs(t, err, schema.ErrChecksumMismatch)
	})

	t.Run("UnknownAppliedMigrationIsRefused", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		require.NoError(t, schema.Migrate(ctx, db.DB.DB))
		_, err := db.DB.Exec(`INSERT INTO masstore_schema_migrations (version, name, checksum) VALUES (9999, 'from_the_future', 'x')`)
		require.NoError(t, err)
		err = schema.Migrate(ctx, db.DB.DB)
		require.ErrorIs(t, err, schema.ErrUnknownMigration)
		require.ErrorContains(t, err, "9999_from_the_future")
	})

	t.Run("StatusListsAppliedAndPending", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		m, err := schema.NewMigrator(db.DB.DB)
		require.NoError(t, err)
		st, err := m.Status(ctx)
		require.NoError(t, err)
		for _, s := range st {
			require.False(t, s.Applied, s.Migration.String())
		}
		require.NoError(t, m.MigrateTo(ctx, 5))
		st, err = m.Status(ctx)
		require.NoError(t, err)
		for _, s := range st {
			require.Equal(t, s.Migration.Version <= 5, s.Applied, s.Migration.String())
			require.Equal(t, s.Applied, !s.AppliedAt.IsZero())
		}
	})
}

func TestFailedMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("TransactionalLeavesTheDatabaseAsItWas", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		m, err := schema.NewMigrator(db.DB.DB, schema.WithMigrations(fstest.MapFS{
			"0001_first.sql":  {Data: []byte("CREATE TABLE first (x int);")},
			"0002_broken.sql": {Data: []byte("CREATE TABLE second (x int);\nINSERT INTO second VALUES ('not a number');")},
		}))
		require.NoError(t, err)

		err = m.Migrate(ctx)
		var merr *schema.MigrationError
		require.ErrorAs(t, err, &merr)
		require.Equal(t, "0002_broken", merr.Migration)
		require.ErrorContains(t, err, "invalid input syntax for type integer")

		var tables []string
		require.NoError(t, db.DB.Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`))
		require.Equal(t, []string{"first", "masstore_schema_migrations"}, tables)
		require.Equal(t, 1, countApplied(t, db))
	})

	t.Run("NoTransactionIsSafeToRerunAfterAFailedConcurrentIndex", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		files := fstest.MapFS{
			"0001_table.sql": {Data: []byte("CREATE TABLE t (x int);\nINSERT INTO t VALUES (1), (1);")},
			"0002_index.sql": {Data: []byte("-- masstore:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_y ON t (x);\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_x ON t (x);\n")},
		}
		m, err := schema.NewMigrator(db.DB.DB, schema.WithMigrations(files))
		require.NoError(t, err)
		err = m.Migrate(ctx)
		require.ErrorContains(t, err, "migration 0002_index")
		require.ErrorContains(t, err, "could not create unique index")

		// The failed build left an invalid index that IF NOT EXISTS alone would skip.
		var valid bool
		require.NoError(t, db.DB.Get(&valid, `SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x'::regclass`))
		require.False(t, valid)
		require.Equal(t, 1, countApplied(t, db))

		_, err = db.DB.Exec(`DELETE FROM t`)
		require.NoError(t, err)
		require.NoError(t, m.Migrate(ctx))
		require.NoError(t, db.DB.Get(&valid, `SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x'::regclass`))
		require.True(t, valid)
		require.Equal(t, 2, countApplied(t, db))
	})

	t.Run("CancelledContext", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := schema.Migrate(cctx, db.DB.DB)
		require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	})
}
