package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/schema"
)

// limitedRole creates, on db's server, a role that may create tables in db's
// public schema but not extensions (it lacks CREATE on the database), and
// returns a pool connected to db as that role.
func limitedRole(t *testing.T, db *pgtest.Database) (*sql.DB, string) {
	t.Helper()
	role := db.Name + "_limited"
	exec(t, db.DB.DB, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD 'limited'`, role))
	exec(t, db.DB.DB, fmt.Sprintf(`GRANT CREATE, USAGE ON SCHEMA public TO %s`, role))
	t.Cleanup(func() {
		// Its objects go with the test's database; what it owns there must
		// go first for the role to be dropped.
		_, _ = db.DB.Exec(fmt.Sprintf(`DROP OWNED BY %s`, role))
		_, _ = db.DB.Exec(fmt.Sprintf(`DROP ROLE %s`, role))
	})
	u, err := url.Parse(db.URL)
	require.NoError(t, err)
	u.User = url.UserPassword(role, "limited")
	limited, err := sql.Open("postgres", u.String())
	require.NoError(t, err)
	t.Cleanup(func() { limited.Close() })
	return limited, role
}

func TestExtensionTheRoleMayNotCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("EmptyDatabaseGetsNothingAndANamedError", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		limited, role := limitedRole(t, db)

		err := schema.Migrate(ctx, limited)
		require.ErrorIs(t, err, schema.ErrExtensionUnavailable)
		var ext *schema.ExtensionError
		require.ErrorAs(t, err, &ext)
		require.Equal(t, "pg_trgm", ext.Extension)
		require.Equal(t, role, ext.Role)
		require.Equal(t, db.Name, ext.Database)
		require.False(t, ext.NotInstalled)
		require.ErrorContains(t, err, "a superuser must run there: CREATE EXTENSION IF NOT EXISTS pg_trgm;")
		require.ErrorContains(t, err, "0030_pg_trgm")

		// Nothing at all was applied: the check comes before the first migration.
		var tables []string
		require.NoError(t, db.DB.Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`))
		require.Equal(t, []string{schema.DefaultTable}, tables)
	})

	t.Run("UpgradeStopsBeforeStep17AndSucceedsOnceASuperuserCreatedIt", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		limited, _ := limitedRole(t, db)
		m, err := schema.NewMigrator(limited)
		require.NoError(t, err)
		require.NoError(t, m.MigrateTo(ctx, 29))
		exec(t, limited, `INSERT INTO users (user_id, username, created_at) VALUES ($1, 'alice', now())`, userID)

		err = m.Migrate(ctx)
		var ext *schema.ExtensionError
		require.ErrorAs(t, err, &ext)
		var applied int
		require.NoError(t, limited.QueryRow(`SELECT max(version) FROM masstore_schema_migrations`).Scan(&applied))
		require.Equal(t, 29, applied, "no part of step 17 is applied")
		var tables int
		require.NoError(t, limited.QueryRow(`SELECT count(*) FROM pg_tables WHERE tablename = 'personal_sessions'`).Scan(&tables))
		require.Zero(t, tables)

		// What the error says a superuser must run, the superuser runs.
		exec(t, db.DB.DB, ext.Statement())
		require.NoError(t, m.Migrate(ctx))
		findings, err := schema.Verify(ctx, limited)
		require.NoError(t, err)
		require.Empty(t, findings)
		var users int
		require.NoError(t, limited.QueryRow(`SELECT count(*) FROM users WHERE username = 'alice'`).Scan(&users))
		require.Equal(t, 1, users)
	})
}

func TestExtensionErrorUnwraps(t *testing.T) {
	t.Parallel()
	cause := errors.New("permission denied to create extension")
	err := error(&schema.MigrationError{Migration: "0030_pg_trgm", Err: &schema.ExtensionError{Extension: "pg_trgm", Database: "d", Role: "r", Err: cause}})
	require.ErrorIs(t, err, schema.ErrExtensionUnavailable)
	require.ErrorIs(t, err, cause)
	require.Equal(t, `migration 0030_pg_trgm: extension unavailable: role "r" may not create extension pg_trgm in database "d": a superuser must run there: CREATE EXTENSION IF NOT EXISTS pg_trgm; then migrate again (permission denied to create extension)`, err.Error())
}
