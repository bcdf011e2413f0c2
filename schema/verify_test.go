package schema_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/schema"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("NoFindingsOnAMigratedDatabase", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Migrated(t)
		findings, err := schema.Verify(ctx, db.DB.DB)
		require.NoError(t, err)
		require.Empty(t, findings)
	})

	t.Run("NoFindingsOnADatabaseWithoutTheMigrationTable", func(t *testing.T) {
		// What MAS's own migrations produce: the same schema, no masstore table,
		// plus objects the library does not know about.
		t.Parallel()
		db := pgtest.Empty(t)
		for _, m := range schema.Migrations() {
			if m.NoTransaction {
				for _, stmt := range m.Statements() {
					exec(t, db.DB.DB, stmt)
				}
				continue
			}
			exec(t, db.DB.DB, m.SQL)
		}
		exec(t, db.DB.DB, `CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY)`)
		exec(t, db.DB.DB, `CREATE INDEX users_username_extra_idx ON users (username, created_at)`)
		findings, err := schema.Verify(ctx, db.DB.DB)
		require.NoError(t, err)
		require.Empty(t, findings)
	})

	t.Run("AdditionsAreNotRequired", func(t *testing.T) {
		// A database MAS migrated has none of masstore's extra indexes.
		t.Parallel()
		db := pgtest.Migrated(t)
		for key := range schema.Additions().Indexes {
			exec(t, db.DB.DB, `DROP INDEX `+key[strings.Index(key, ".")+1:])
		}
		findings, err := schema.Verify(ctx, db.DB.DB)
		require.NoError(t, err)
		require.Empty(t, findings)
	})

	t.Run("NamesEachDifference", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Migrated(t)
		exec(t, db.DB.DB, `ALTER TABLE compat_sessions DROP CONSTRAINT compat_sessions_user_session_id_fkey`)
		exec(t, db.DB.DB, `ALTER TABLE compat_sessions ADD CONSTRAINT compat_sessions_user_session_id_fkey FOREIGN KEY (user_session_id) REFERENCES user_sessions(user_session_id) ON DELETE SET NULL`)
		exec(t, db.DB.DB, `DROP INDEX user_sessions_finished_at_idx`)
		exec(t, db.DB.DB, `DROP TRIGGER upstream_oauth_authorization_sessions_insert_trigger ON user_session_authentications`)
		exec(t, db.DB.DB, `ALTER TABLE queue_jobs DROP COLUMN failed_reason`)
		exec(t, db.DB.DB, `ALTER TABLE user_recovery_tickets DROP CONSTRAINT user_recovery_tickets_user_recovery_session_id_fkey`)
		exec(t, db.DB.DB, `ALTER TABLE user_recovery_tickets ADD CONSTRAINT user_recovery_tickets_user_recovery_session_id_fkey FOREIGN KEY (user_recovery_session_id) REFERENCES user_recovery_sessions(user_recovery_session_id) ON DELETE CASCADE NOT VALID`)
		exec(t, db.DB.DB, `DROP TABLE queue_workers CASCADE`)

		findings, err := schema.Verify(ctx, db.DB.DB)
		require.NoError(t, err)
		got := map[string]schema.Finding{}
		for _, f := range findings {
			got[f.Kind+" "+f.Name] = f
		}
		fk := got["constraint compat_sessions_user_session_id_fkey"]
		require.Equal(t, "compat_sessions", fk.Table)
		require.Contains(t, fk.Got, "ON DELETE SET NULL")
		require.NotContains(t, fk.Want, "SET NULL")
		require.Contains(t, fk.String(), "compat_sessions_user_session_id_fkey on compat_sessions differs")

		require.True(t, got["index user_sessions_finished_at_idx"].Missing())
		require.True(t, got["trigger upstream_oauth_authorization_sessions_insert_trigger"].Missing())
		require.True(t, got["column failed_reason"].Missing())
		require.Contains(t, got["constraint user_recovery_tickets_user_recovery_session_id_fkey"].Got, "NOT VALID")
		require.True(t, got["table queue_workers"].Missing())
		// The foreign keys into it went with the table.
		require.True(t, got["constraint queue_jobs_started_by_fkey"].Missing())
		require.True(t, got["constraint queue_leader_queue_worker_id_fkey"].Missing())
		require.Len(t, findings, 8, "%v", findings)
	})
}
