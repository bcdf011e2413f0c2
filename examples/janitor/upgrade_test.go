package main

import (
	"database/sql"
	"io"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/schema"
)

// lastBeforeMASMain is the last migration of the 27-table schema: a
// database a host migrated before MAS main's six tables (SCHEMA.md, step 17).
const lastBeforeMASMain = 29

// requireSpecCatalog checks that the database holds exactly the spec's 33
// tables, constraints and indexes, plus the declared additions.
func requireSpecCatalog(t *testing.T, db *sql.DB) {
	t.Helper()
	want := schema.Expected()
	maps.Copy(want.Indexes, schema.Additions().Indexes)
	require.Len(t, want.Tables(), 33)
	got, err := schema.Inspect(t.Context(), db, want.Tables())
	require.NoError(t, err)
	require.Empty(t, schema.Diff(want, got), "missing or different")
	require.Empty(t, schema.Diff(got, want), "present but not in the catalog")
}

// rowDigests digests the rows of every table that exists.
func rowDigests(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range schema.Expected().Tables() {
		var exists bool
		require.NoError(t, db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists))
		if !exists {
			continue
		}
		var digest string
		require.NoError(t, db.QueryRow(`SELECT coalesce(md5(string_agg(r::text, ';' ORDER BY r::text)), '') || count(*) FROM `+table+` r`).Scan(&digest))
		out[table] = digest
	}
	return out
}

func TestMigrateReachesTheSpecCatalog(t *testing.T) {
	t.Parallel()

	t.Run("EmptyDatabase", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		code, _, errOut := janitor(t, nil, "migrate", "--database-url", db.URL)
		require.Equal(t, exitOK, code, errOut)
		requireSpecCatalog(t, db.DB.DB)
		code, out, _ := janitor(t, nil, "verify", "--database-url", db.URL)
		require.Equal(t, exitOK, code, out)
		require.Contains(t, out, "schema ok")
	})

	t.Run("DatabaseAtTheLastMigrationBeforeMASMainHoldingRows", func(t *testing.T) {
		t.Parallel()
		bin := buildJanitor(t)
		db := pgtest.Empty(t)
		m, err := schema.NewMigrator(db.DB.DB)
		require.NoError(t, err)
		require.NoError(t, m.MigrateTo(t.Context(), lastBeforeMASMain))
		_, err = db.DB.Exec(scenarioSQL)
		require.NoError(t, err)
		before := rowDigests(t, db.DB.DB)
		require.Len(t, before, 27, "the tables before step 17")

		code, out, errOut := janitor(t, nil, "migrate", "--database-url", db.URL)
		require.Equal(t, exitOK, code, errOut)
		require.Contains(t, out, "applied 0030_pg_trgm")
		requireSpecCatalog(t, db.DB.DB)
		after := rowDigests(t, db.DB.DB)
		for table, digest := range before {
			require.Equal(t, digest, after[table], "rows of %s changed", table)
		}
		code, out, _ = janitor(t, nil, "verify", "--database-url", db.URL)
		require.Equal(t, exitOK, code, out)
		require.Contains(t, out, "schema ok")

		// Every job, expire-inactive-sessions included, completes on rows
		// that reference its candidates through MAS main's foreign keys.
		_, err = db.DB.Exec(masMainSQL)
		require.NoError(t, err)
		code, out, errOut = runBinary(t, bin, "run", "--once", "--json", "--now", scenarioNow, "--inactive-session-ttl", "24h", "--batch-size", "1", "--database-url", db.URL)
		require.Equal(t, exitOK, code, errOut)
		reports := parseReports(t, out)
		require.Len(t, reports, len(cleanup.AllJobs()))
		for job, r := range reports {
			require.Nil(t, r.Stopped, job)
			if job != "expire-inactive-sessions" {
				require.Equal(t, wantAffected[job], r.Affected, job)
			}
		}
		// Only the live browser session last active on 2026-04-01 was
		// inactive for a day: the live compat child was active exactly a day
		// before, the live OAuth 2.0 session never.
		require.Equal(t, 1, reports["expire-inactive-sessions"].Affected)
		require.Equal(t, kept(t, db), remaining(t, db), "exactly the kept_ rows are left")
		var finished int
		require.NoError(t, db.DB.Get(&finished, `SELECT count(*) FROM user_sessions JOIN janitor_e2e_ids ON id = user_session_id
			WHERE name = 'kept_us_live_stale_ip' AND finished_at = $1`, scenarioNow))
		require.Equal(t, 1, finished)
	})
}

func TestInactiveSessionExpiryFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	full := write("full.yaml", "experimental:\n  inactive_session_expiration:\n    ttl: 86400\n    expire_compat_sessions: false\n")
	none := write("none.yaml", "http:\n  public_base: https://auth.example/\n")
	short := write("short.yaml", "experimental:\n  inactive_session_expiration:\n    ttl: 599\n")
	noTTL := write("nottl.yaml", "experimental:\n  inactive_session_expiration:\n    expire_user_sessions: false\n")
	broken := write("broken.yaml", "experimental: [\n")

	t.Run("ReadFromAMASConfig", func(t *testing.T) {
		cfg, _, err := parseRun([]string{"--mas-config", full}, io.Discard)
		require.NoError(t, err)
		require.Equal(t, 24*time.Hour, cfg.opts.Retention["expire-inactive-sessions"])
		require.True(t, cfg.opts.InactiveSessions.SkipCompat)
		require.False(t, cfg.opts.InactiveSessions.SkipOAuth2, "MAS's switches default to true")
		require.False(t, cfg.opts.InactiveSessions.SkipBrowser)
		require.Equal(t, "expire-inactive-sessions", cfg.jobs[0].Name)
		require.Len(t, cfg.jobs, len(cleanup.AllJobs()))
	})

	t.Run("OffWithoutATTL", func(t *testing.T) {
		for _, args := range [][]string{nil, {"--mas-config", none}} {
			cfg, _, err := parseRun(args, io.Discard)
			require.NoError(t, err)
			require.Len(t, cfg.jobs, len(cleanup.AllJobs())-1)
			for _, j := range cfg.jobs {
				require.NotEqual(t, "expire-inactive-sessions", j.Name)
			}
		}
	})

	t.Run("KeepPolicyData", func(t *testing.T) {
		cfg, _, err := parseRun([]string{"--keep-policy-data", "3"}, io.Discard)
		require.NoError(t, err)
		require.Equal(t, 3, cfg.opts.KeepPolicyData)
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"NamedWithoutATTL", []string{"--job", "expire-inactive-sessions"}, "expire-inactive-sessions needs a time-to-live"},
		{"TTLTooShort", []string{"--inactive-session-ttl", "9m"}, "retention 9m0s of expire-inactive-sessions out of range [10m0s, 2160h0m0s]"},
		{"TTLTooLong", []string{"--inactive-session-ttl", "2161h"}, "out of range [10m0s, 2160h0m0s]"},
		{"TTLTwice", []string{"--inactive-session-ttl", "1h", "--retention", "expire-inactive-sessions=2h"}, "not both"},
		{"ConfigTTLTooShort", []string{"--mas-config", short}, "ttl 599 out of range 600..7776000 seconds"},
		{"ConfigWithoutTTL", []string{"--mas-config", noTTL}, "inactive_session_expiration has no ttl"},
		{"ConfigBroken", []string{"--mas-config", broken}, "broken.yaml"},
		{"ConfigMissing", []string{"--mas-config", filepath.Join(dir, "absent.yaml")}, "no such file"},
		{"KeepNoPolicyData", []string{"--keep-policy-data", "0"}, "--keep-policy-data 0: at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := janitor(t, nil, append([]string{"run", "--once"}, tc.args...)...)
			require.Equal(t, exitUsage, code, errOut)
			require.Contains(t, errOut, tc.want)
		})
	}
}
