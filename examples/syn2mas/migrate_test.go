package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/syn2mas"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// migrateBundle is a Synapse database with a generated population, an empty
// MAS database, and configurations naming them.
type migrateBundle struct {
	bundle
	target *pgtest.Database
}

func setupMigrate(t *testing.T, masDatabaseURI string, users int) migrateBundle {
	t.Helper()
	b := setup(t)
	require.NoError(t, synapsetest.Generate(t.Context(), b.db.DB.DB, synapsetest.Population{ServerName: "example.com", Users: users}))
	target := pgtest.Empty(t)
	if masDatabaseURI == "" {
		masDatabaseURI = target.URL
	}
	b.mas = write(t, b.dir, "mas-migrate.yaml", `
matrix: {homeserver: example.com}
database: {uri: '`+masDatabaseURI+`'}
passwords: {schemes: [{version: 1, algorithm: bcrypt}]}
upstream_oauth2:
  providers:
    - {id: 01JSHPZHAXC50QBKH67MH33TNF, synapse_idp_id: oidc-google, issuer: "https://accounts.google.com",
       client_id: mas, scope: openid, token_endpoint_auth_method: client_secret_basic}
`)
	return migrateBundle{b, target}
}

func (b migrateBundle) migrateArgs(extra ...string) []string {
	return append([]string{"migrate", "--config", b.mas, "--synapse-config", b.synapse, "--synapse-database-uri", b.db.URL}, extra...)
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()

	t.Run("MigratesIntoTheConfiguredDatabase", func(t *testing.T) {
		t.Parallel()
		b := setupMigrate(t, "", 300)
		r := runCmd(b.migrateArgs()...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "Done: MAS can start on this database.")
		require.Regexp(t, `users\s+298\s+3\n`, r.stdout, "alice and 300 generated users, 3 of them appservice users")
		require.Contains(t, r.stdout, "[guest_users]")
		// stderr is not a terminal: one line per kind of row, with its final
		// counts, and one per rebuild.
		require.Contains(t, r.stderr, "users: 298 migrated, 3 skipped (of ~301)\n")
		require.Contains(t, r.stderr, "devices: 570 migrated, 30 skipped (of ~630); access_tokens: ")
		require.Contains(t, r.stderr, "rebuilt users_pkey\n")
		var n int
		require.NoError(t, b.target.DB.Get(&n, `SELECT count(*) FROM compat_sessions`))
		require.Equal(t, synapsetest.Population{Users: 300}.Expect().Sessions, n, "alice has no devices")
	})

	t.Run("DatabaseURLOverridesTheConfiguration", func(t *testing.T) {
		t.Parallel()
		b := setupMigrate(t, "postgres://nobody@localhost:1/nothing", 300)
		r := runCmd(b.migrateArgs("--database-url", b.target.URL, "--json", "--dry-run")...)
		require.Equal(t, 0, r.code, r.stderr)
		var report syn2mas.Report
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &report))
		require.True(t, report.DryRun)
		require.Equal(t, int64(298), report.Rows["users"])
		var n int
		require.NoError(t, b.target.DB.Get(&n, `SELECT count(*) FROM users`))
		require.Zero(t, n, "a dry run leaves nothing")
	})

	t.Run("CheckErrorsExit10", func(t *testing.T) {
		t.Parallel()
		b := setupMigrate(t, "", 300)
		synapsetest.AddExternalID(t, b.db.DB, "oidc-removed", "r1", "@alice:example.com")
		r := runCmd(b.migrateArgs()...)
		require.Equal(t, 10, r.code)
		require.Contains(t, r.stdout, "[unknown_auth_provider]")
	})

	t.Run("AFailedMigrationExits1", func(t *testing.T) {
		t.Parallel()
		b := setupMigrate(t, "", 300)
		require.Equal(t, 0, runCmd(b.migrateArgs()...).code)
		r := runCmd(b.migrateArgs()...)
		require.Equal(t, 1, r.code)
		require.Equal(t, "syn2mas migrate: the MAS database is not empty: table users has rows; migrate into a new database (drop and recreate it); nothing was migrated\n",
			lastLine(r.stderr))
	})

	t.Run("NoMASDatabase", func(t *testing.T) {
		t.Parallel()
		b := setupMigrate(t, "", 300)
		b.mas = write(t, b.dir, "mas-nodb.yaml", "matrix: {homeserver: example.com}\n")
		r := runCmd(b.migrateArgs()...)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "has no database.uri; give --database-url")
	})
}

// lastLine returns the last line of s, with its newline.
func lastLine(s string) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	return lines[len(lines)-1] + "\n"
}
