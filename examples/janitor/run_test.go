package main

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/schema"
)

//go:embed testdata/scenario.sql
var scenarioSQL string

// masMainSQL adds rows to MAS main's newer tables, after scenarioSQL.
//
//go:embed testdata/mas_main.sql
var masMainSQL string

const scenarioNow = "2026-06-01T00:00:00Z"

// wantAffected is what each job takes from the scenario at scenarioNow.
var wantAffected = map[string]int{
	"cleanup-finished-compat-sessions":     1,
	"cleanup-finished-oauth2-sessions":     1,
	"cleanup-finished-user-sessions":       1, // the one with a live compat child stays
	"cleanup-upstream-oauth-sessions":      1,
	"cleanup-upstream-oauth-links":         1,
	"cleanup-revoked-oauth-access-tokens":  1,
	"cleanup-expired-oauth-access-tokens":  1,
	"cleanup-user-registrations":           1,
	"cleanup-oauth-authorization-grants":   1,
	"cleanup-user-recovery-sessions":       1,
	"cleanup-inactive-user-session-ips":    1,
	"cleanup-queue-jobs":                   2,
	"cleanup-revoked-oauth-refresh-tokens": 0,
	// mas_main.sql
	"cleanup-revoked-personal-sessions":      1, // its token goes with it, uncounted
	"cleanup-revoked-personal-access-tokens": 1,
	"cleanup-inactive-personal-session-ips":  1,
	"cleanup-stale-queue-workers":            1, // the leader stays
	"prune-stale-policy-data":                2,
}

// primaryKeys names every table's key, to find a scenario row wherever it is.
var primaryKeys = map[string]string{
	"users": "user_id", "user_sessions": "user_session_id", "compat_sessions": "compat_session_id",
	"compat_access_tokens": "compat_access_token_id", "compat_refresh_tokens": "compat_refresh_token_id",
	"oauth2_clients": "oauth2_client_id", "oauth2_sessions": "oauth2_session_id",
	"oauth2_access_tokens": "oauth2_access_token_id", "oauth2_refresh_tokens": "oauth2_refresh_token_id",
	"oauth2_authorization_grants": "oauth2_authorization_grant_id", "queue_jobs": "queue_job_id",
	"upstream_oauth_providers": "upstream_oauth_provider_id", "upstream_oauth_links": "upstream_oauth_link_id",
	"upstream_oauth_authorization_sessions": "upstream_oauth_authorization_session_id",
	"user_session_authentications":          "user_session_authentication_id",
	"user_recovery_sessions":                "user_recovery_session_id", "user_registrations": "user_registration_id",
	"personal_sessions": "personal_session_id", "personal_access_tokens": "personal_access_token_id",
	"queue_workers": "queue_worker_id", "policy_data": "policy_data_id", "user_terms": "user_terms_id",
}

// remaining returns the scenario's row names still in the database.
func remaining(t *testing.T, db *pgtest.Database) []string {
	t.Helper()
	var parts []string
	for table, pk := range primaryKeys {
		parts = append(parts, "SELECT "+pk+" AS id FROM "+table)
	}
	var names []string
	require.NoError(t, db.DB.Select(&names, `SELECT name FROM janitor_e2e_ids WHERE id IN (`+strings.Join(parts, " UNION ALL ")+`) ORDER BY name`))
	return names
}

func kept(t *testing.T, db *pgtest.Database) []string {
	t.Helper()
	var names []string
	require.NoError(t, db.DB.Select(&names, `SELECT name FROM janitor_e2e_ids WHERE name LIKE 'kept_%' ORDER BY name`))
	return names
}

// buildJanitor compiles the command once per test binary.
func buildJanitor(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "janitor")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// runBinary runs the built janitor and returns exit code, stdout, stderr.
func runBinary(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, stdout.String(), stderr.String()
}

func parseReports(t *testing.T, out string) map[string]jsonReport {
	t.Helper()
	reports := map[string]jsonReport{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r jsonReport
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
		reports[r.Job] = r
	}
	return reports
}

func requireScenarioResult(t *testing.T, reports map[string]jsonReport, dryRun bool) {
	t.Helper()
	require.Len(t, reports, len(cleanup.AllJobs())-1, "one report per job; expire-inactive-sessions is off")
	for job, r := range reports {
		require.Equal(t, wantAffected[job], r.Affected, job)
		require.Nil(t, r.Stopped, job)
		require.Equal(t, dryRun, r.DryRun, job)
		require.Positive(t, r.Batches, job)
	}
}

func TestRunOnceEndToEnd(t *testing.T) {
	t.Parallel()
	bin := buildJanitor(t)

	for name, build := range map[string]func(t *testing.T) *pgtest.Database{
		"MigratedByMasstore": func(t *testing.T) *pgtest.Database { return pgtest.Migrated(t) },
		"MigratedByMAS":      masLikeDatabase,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := build(t)
			_, err := db.DB.Exec(scenarioSQL)
			require.NoError(t, err)
			_, err = db.DB.Exec(masMainSQL)
			require.NoError(t, err)
			before := remaining(t, db)

			// A dry run reports what a real run then does, and changes nothing.
			code, out, errOut := runBinary(t, bin, "run", "--once", "--dry-run", "--json", "--now", scenarioNow, "--database-url", db.URL)
			require.Equal(t, 0, code, errOut)
			dry := parseReports(t, out)
			requireScenarioResult(t, dry, true)
			require.Equal(t, before, remaining(t, db))

			code, out, errOut = runBinary(t, bin, "run", "--once", "--json", "--now", scenarioNow, "--batch-size", "1", "--target-batch-duration", "100ms", "--database-url", db.URL)
			require.Equal(t, 0, code, errOut)
			real := parseReports(t, out)
			requireScenarioResult(t, real, false)
			for job := range real {
				require.Equal(t, dry[job].Affected, real[job].Affected, job)
			}
			require.Equal(t, kept(t, db), remaining(t, db), "exactly the kept_ rows are left")

			var ip *string
			require.NoError(t, db.DB.Get(&ip, `SELECT last_active_ip::text FROM user_sessions JOIN janitor_e2e_ids ON id = user_session_id WHERE name = 'kept_us_live_stale_ip'`))
			require.Nil(t, ip)
			var next, last *string
			require.NoError(t, db.DB.Get(&last, `SELECT last_scheduled_job_id::text FROM queue_schedules`))
			require.Nil(t, last)
			require.NoError(t, db.DB.Get(&next, `SELECT count(*)::text FROM queue_jobs WHERE next_attempt_id IS NOT NULL`))
			require.Equal(t, "0", *next)

			// A second run finds nothing left.
			code, out, _ = runBinary(t, bin, "run", "--once", "--json", "--now", scenarioNow, "--database-url", db.URL)
			require.Equal(t, 0, code)
			for job, r := range parseReports(t, out) {
				require.Zero(t, r.Affected, job)
			}
		})
	}
}

// masLikeDatabase builds the target schema as MAS's own migrations leave it:
// the same tables, no masstore migration table.
func masLikeDatabase(t *testing.T) *pgtest.Database {
	db := pgtest.Empty(t)
	for _, m := range schema.Migrations() {
		stmts := []string{m.SQL}
		if m.NoTransaction {
			stmts = m.Statements()
		}
		for _, s := range stmts {
			_, err := db.DB.Exec(s)
			require.NoError(t, err, m.String())
		}
	}
	_, err := db.DB.Exec(`CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY)`)
	require.NoError(t, err)
	return db
}

func TestRunRefusesAnUnsafeSchema(t *testing.T) {
	t.Parallel()
	db := pgtest.Empty(t)
	m, err := schema.NewMigrator(db.DB.DB)
	require.NoError(t, err)
	require.NoError(t, m.MigrateTo(t.Context(), 16)) // before compat_sessions' FK became NO ACTION

	code, _, errOut := janitor(t, nil, "run", "--once", "--database-url", db.URL)
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "not safe for the selected jobs")
	require.Contains(t, errOut, "compat_sessions_user_session_id_fkey")

	// A job that touches none of the unfinished tables may run.
	code, out, errOut := janitor(t, nil, "run", "--once", "--job", "cleanup-user-recovery-sessions", "--database-url", db.URL)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "cleanup-user-recovery-sessions")
}

func TestRunFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--batch-size", "0"}, "--batch-size 0 out of range 1..100000"},
		{[]string{"--batch-size", "100001"}, "out of range"},
		{[]string{"--job", "cleanup-everything"}, `unknown cleanup job "cleanup-everything" (known: `},
		{[]string{"--retention", "cleanup-queue-jobs"}, "want NAME=DURATION"},
		{[]string{"--retention", "cleanup-queue-jobs=forever"}, `invalid duration "forever"`},
		{[]string{"--retention", "cleanup-queue-jobs=0d"}, "want whole days from 1d"},
		{[]string{"--retention", "nope=1d"}, `unknown cleanup job "nope"`},
		{[]string{"--now", "yesterday"}, "want an RFC 3339 time"},
		{[]string{"--dry-run"}, "--dry-run needs --once"},
		{[]string{"--once", "extra"}, `unexpected argument "extra"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			code, _, errOut := janitor(t, nil, append([]string{"run"}, tc.args...)...)
			require.Equal(t, exitUsage, code)
			require.Contains(t, errOut, tc.want)
		})
	}
}

func TestJobsListsEveryJob(t *testing.T) {
	t.Parallel()
	code, out, _ := janitor(t, nil, "jobs")
	require.Equal(t, exitOK, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1+len(cleanup.AllJobs()), "a header and every job")
	require.Contains(t, lines[0], "FROM")
	require.Contains(t, out, "5 */4 * * *")
	source := map[string]string{}
	var names []string
	for _, l := range lines[1:] {
		name := strings.Fields(l)[0]
		names = append(names, name)
		switch {
		case strings.Contains(l, "  beyond MAS  "):
			source[name] = "beyond MAS"
		case strings.Contains(l, "  MAS  "):
			source[name] = "MAS"
		}
	}
	require.False(t, sort.StringsAreSorted(names), "dependency order, not alphabetical")
	for _, j := range cleanup.AllJobs() {
		want := "beyond MAS"
		if j.FromMAS {
			want = "MAS"
		}
		require.Equal(t, want, source[j.Name], j.Name)
	}
	require.Regexp(t, `expire-inactive-sessions\s+off\s+30 \*/15 \* \* \* \*\s+MAS`, out)
	require.Regexp(t, `prune-stale-policy-data\s+-\s+0 2 \* \* \*\s+MAS`, out)
	require.Regexp(t, `cleanup-revoked-personal-sessions\s+30d\s+15 \* \* \* \*\s+beyond MAS`, out)
}
