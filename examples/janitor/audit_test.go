package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
)

// auditExtraSQL gives the two tables scenarioSQL and masMainSQL leave
// without an IP address one stale row each, and one row exactly at the
// horizon (not stale: only times strictly before it are) at scenarioNow.
const auditExtraSQL = `
CREATE FUNCTION pg_temp.audit_id(created timestamptz, n int) RETURNS uuid LANGUAGE sql AS $$
    SELECT (lpad(to_hex((extract(epoch FROM created) * 1000)::bigint), 12, '0') || lpad(to_hex(n), 20, '0'))::uuid
$$;
INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, scope_list, created_at, last_active_at, last_active_ip)
SELECT pg_temp.audit_id(v.created, v.n), c.id, u.id, '{openid}', v.created, v.last_active, '192.0.2.40'
FROM janitor_e2e_ids c, janitor_e2e_ids u, (VALUES
    ('2026-03-01T00:00:00Z'::timestamptz, '2026-04-01T00:00:00Z'::timestamptz, 201),
    ('2026-03-01T00:00:00Z', '2026-05-02T00:00:00Z', 202)
) AS v(created, last_active, n)
WHERE c.name = 'kept_client' AND u.name = 'kept_user_alice';
INSERT INTO oauth2_device_code_grant (oauth2_device_code_grant_id, oauth2_client_id, created_at, expires_at, device_code, user_code, scope, ip_address)
SELECT pg_temp.audit_id(v.created, v.n), c.id, v.created, v.created + interval '15 minutes', 'device-' || v.n, 'USER-' || v.n, 'openid', '192.0.2.41'
FROM janitor_e2e_ids c, (VALUES
    ('2026-05-01T00:00:00Z'::timestamptz, 203),
    ('2026-05-25T00:00:00Z', 204)
) AS v(created, n)
WHERE c.name = 'kept_client';
`

// ulidBefore is the condition "the row's ULID key was made before $1": the
// first 48 bits of a ULID are its Unix time in milliseconds.
func ulidBefore(key string) string {
	return fmt.Sprintf(`('x' || left(replace(%s::text, '-', ''), 12))::bit(48)::bigint < floor(extract(epoch FROM $1::timestamptz) * 1000)::bigint`, key)
}

const auditDay = 24 * time.Hour

// auditedIPs is every place an IP address is kept, in the audit's order, with
// the job that removes it, its default retention and, as our own SQL, what
// makes a row stale at horizon $1.
var auditedIPs = []struct {
	table, column, job string
	retention          time.Duration
	stale              string
}{
	{"user_sessions", "last_active_ip", "cleanup-inactive-user-session-ips", 30 * auditDay, `last_active_ip IS NOT NULL AND last_active_at < $1`},
	{"compat_sessions", "last_active_ip", "cleanup-inactive-compat-session-ips", 30 * auditDay, `last_active_ip IS NOT NULL AND last_active_at < $1`},
	{"oauth2_sessions", "last_active_ip", "cleanup-inactive-oauth2-session-ips", 30 * auditDay, `last_active_ip IS NOT NULL AND last_active_at < $1`},
	{"user_recovery_sessions", "ip_address", "cleanup-user-recovery-sessions", 7 * auditDay, `ip_address IS NOT NULL AND ` + ulidBefore("user_recovery_session_id")},
	{"user_registrations", "ip_address", "cleanup-user-registrations", 30 * auditDay, `ip_address IS NOT NULL AND ` + ulidBefore("user_registration_id")},
	{"personal_sessions", "last_active_ip", "cleanup-inactive-personal-session-ips", 30 * auditDay, `last_active_ip IS NOT NULL AND last_active_at < $1`},
	{"oauth2_device_code_grant", "ip_address", "cleanup-oauth-device-code-grants", 7 * auditDay, `ip_address IS NOT NULL AND ` + ulidBefore("oauth2_device_code_grant_id")},
}

// auditDatabase returns a migrated database holding the scenario, the MAS
// main rows and auditExtraSQL.
func auditDatabase(t *testing.T) *pgtest.Database {
	t.Helper()
	db := pgtest.Migrated(t)
	for _, q := range []string{scenarioSQL, masMainSQL, auditExtraSQL} {
		_, err := db.DB.Exec(q)
		require.NoError(t, err)
	}
	return db
}

// countStale counts, with our own SQL, the rows of auditedIPs[i] stale at horizon.
func countStale(t *testing.T, db *pgtest.Database, i int, horizon time.Time) int {
	t.Helper()
	var n int
	require.NoError(t, db.DB.Get(&n, `SELECT count(*) FROM `+auditedIPs[i].table+` WHERE `+auditedIPs[i].stale, horizon))
	return n
}

// auditTable parses the text output of audit: the row of each table, as
// fields, and the final verdict line.
func auditTable(t *testing.T, out string) (map[string][]string, string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, len(auditedIPs)+2, out)
	require.Equal(t, []string{"TABLE", "COLUMN", "STALE", "RETENTION", "HORIZON", "JOB"}, strings.Fields(lines[0]))
	rows := map[string][]string{}
	for _, l := range lines[1 : len(lines)-1] {
		f := strings.Fields(l)
		require.Len(t, f, 6, l)
		rows[f[0]] = f
	}
	return rows, lines[len(lines)-1]
}

// auditJSON is what audit --json prints.
type auditJSON struct {
	Now    time.Time `json:"now"`
	Tables []struct {
		Table            string    `json:"table"`
		Column           string    `json:"column"`
		Job              string    `json:"job"`
		RetentionSeconds float64   `json:"retention_seconds"`
		Horizon          time.Time `json:"horizon"`
		Stale            int       `json:"stale"`
	} `json:"tables"`
	StaleTotal int `json:"stale_total"`
}

// parseAuditJSON parses audit --json, which must be one object with every
// field present.
func parseAuditJSON(t *testing.T, out string) auditJSON {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var raw map[string]json.RawMessage
	require.NoError(t, dec.Decode(&raw), out)
	require.False(t, dec.More(), "more than one JSON value: %s", out)
	for _, k := range []string{"now", "tables", "stale_total"} {
		require.Contains(t, raw, k)
	}
	var tables []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw["tables"], &tables))
	for _, tb := range tables {
		for _, k := range []string{"table", "column", "job", "retention_seconds", "horizon", "stale"} {
			require.Contains(t, tb, k)
		}
	}
	var a auditJSON
	require.NoError(t, json.Unmarshal([]byte(out), &a))
	return a
}

// requireAudit checks audit's text and JSON output against want, our own
// count of each table's stale rows, at the horizons now minus retention.
func requireAudit(t *testing.T, db *pgtest.Database, now time.Time, retention []time.Duration, want []int, args ...string) {
	t.Helper()
	args = append([]string{"audit", "--now", now.Format(time.RFC3339), "--database-url", db.URL}, args...)
	total, tables := 0, 0
	var jobs []string
	for i, n := range want {
		total += n
		if n > 0 {
			tables++
			jobs = append(jobs, auditedIPs[i].job)
		}
	}
	wantCode, wantVerdict := exitOK, "no IP address kept past its retention"
	if total > 0 {
		wantCode = exitStale
		wantVerdict = fmt.Sprintf("%d row(s) in %d table(s) keep an IP address past its retention; run 'janitor run --once' (jobs: %s)",
			total, tables, strings.Join(jobs, ", "))
	}

	code, out, errOut := janitor(t, nil, args...)
	require.Equal(t, wantCode, code, errOut)
	require.Empty(t, errOut, "findings are no failure: nothing on stderr")
	rows, verdict := auditTable(t, out)
	require.Equal(t, wantVerdict, verdict)
	for i, src := range auditedIPs {
		horizon := now.Add(-retention[i]).UTC().Format(time.RFC3339)
		require.Equal(t, []string{src.table, src.column, fmt.Sprint(want[i]), formatRetention(retention[i]), horizon, src.job}, rows[src.table])
	}

	code, out, errOut = janitor(t, nil, append(args, "--json")...)
	require.Equal(t, wantCode, code, errOut)
	require.Empty(t, errOut)
	a := parseAuditJSON(t, out)
	require.True(t, a.Now.Equal(now), "now %s", a.Now)
	require.Equal(t, total, a.StaleTotal)
	require.Len(t, a.Tables, len(auditedIPs))
	for i, src := range auditedIPs {
		got := a.Tables[i]
		require.Equal(t, src.table, got.Table)
		require.Equal(t, src.column, got.Column)
		require.Equal(t, src.job, got.Job)
		require.Equal(t, retention[i].Seconds(), got.RetentionSeconds, src.table)
		require.True(t, got.Horizon.Equal(now.Add(-retention[i])), "%s horizon %s", src.table, got.Horizon)
		require.Equal(t, want[i], got.Stale, src.table)
	}
}

// defaultRetentions returns the default retention of every audited table.
func defaultRetentions() []time.Duration {
	out := make([]time.Duration, len(auditedIPs))
	for i, src := range auditedIPs {
		out[i] = src.retention
	}
	return out
}

func TestAuditFindsStaleIPsUntilARun(t *testing.T) {
	t.Parallel()
	db := auditDatabase(t)
	now, err := time.Parse(time.RFC3339, scenarioNow)
	require.NoError(t, err)

	want := make([]int, len(auditedIPs))
	for i, src := range auditedIPs {
		want[i] = countStale(t, db, i, now.Add(-src.retention))
		require.Positive(t, want[i], "the fixture must give %s a stale IP", src.table)
	}
	requireAudit(t, db, now, defaultRetentions(), want)

	// DATABASE_URL stands in for the flag.
	code, out, errOut := janitor(t, map[string]string{"DATABASE_URL": db.URL}, "audit", "--now", scenarioNow, "--json")
	require.Equal(t, exitStale, code, errOut)
	require.Positive(t, parseAuditJSON(t, out).StaleTotal)

	code, _, errOut = janitor(t, nil, "run", "--once", "--now", scenarioNow, "--database-url", db.URL)
	require.Equal(t, exitOK, code, errOut)
	for i, src := range auditedIPs {
		want[i] = countStale(t, db, i, now.Add(-src.retention))
		require.Zero(t, want[i], "the run left a stale IP in %s", src.table)
	}
	requireAudit(t, db, now, defaultRetentions(), want)
}

func TestAuditRetentionMovesTheHorizon(t *testing.T) {
	t.Parallel()
	db := auditDatabase(t)
	now, err := time.Parse(time.RFC3339, scenarioNow)
	require.NoError(t, err)

	// Keeping every IP for 100 years, nothing is stale yet.
	long := make([]time.Duration, len(auditedIPs))
	var args []string
	for i, src := range auditedIPs {
		long[i] = 36500 * auditDay
		args = append(args, "--retention", src.job+"=36500d")
	}
	requireAudit(t, db, now, long, make([]int, len(auditedIPs)), args...)

	// One override moves its table's horizon only: a auditDay's retention makes
	// the recent recovery session stale too.
	retention := defaultRetentions()
	want := make([]int, len(auditedIPs))
	for i, src := range auditedIPs {
		if src.table == "user_recovery_sessions" {
			retention[i] = auditDay
		}
		want[i] = countStale(t, db, i, now.Add(-retention[i]))
		if src.table == "user_recovery_sessions" {
			require.Greater(t, want[i], countStale(t, db, i, now.Add(-src.retention)), "the shorter retention must find more")
		}
	}
	requireAudit(t, db, now, retention, want, "--retention", "cleanup-user-recovery-sessions=1d")
}

func TestAuditUsageErrors(t *testing.T) {
	t.Parallel()
	requireUsageErrors(t, "audit", []usageCase{
		{"unknown job", []string{"--retention", "no-such-job=1d"}, `"no-such-job"`},
		{"bad duration", []string{"--retention", "cleanup-user-registrations=forever"}, `"forever"`},
		{"retention out of range", []string{"--retention", "cleanup-user-registrations=-1h"}, "cleanup-user-registrations out of range"},
		{"bad now", []string{"--now", "yesterday"}, `"yesterday"`},
		{"zero now", []string{"--now", "0001-01-01T00:00:00Z"}, "zero time"},
		{"extra argument", []string{"extra"}, `janitor audit: unexpected argument "extra"`},
		{"unknown flag", []string{"--no-such-flag"}, "no-such-flag"},
	})
}

// unreachableDatabase is a URL nothing answers at.
const unreachableDatabase = "postgres://u:pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"

// usageCase is arguments a command must refuse, and what its error says.
type usageCase struct {
	name string
	args []string
	want string
}

// requireUsageErrors runs the command with each case's arguments against an
// unreachable database: it must exit 2 with the case's error before it
// connects, and print nothing on stdout.
func requireUsageErrors(t *testing.T, command string, cases []usageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := janitor(t, nil, append([]string{command, "--database-url", unreachableDatabase}, tc.args...)...)
			require.Equal(t, exitUsage, code, errOut)
			require.Contains(t, errOut, tc.want)
			require.Empty(t, out)
		})
	}
}

func TestAuditFailures(t *testing.T) {
	t.Parallel()

	t.Run("unreachable database", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := janitor(t, nil, "audit", "--database-url", unreachableDatabase)
		require.Equal(t, exitFailure, code)
		require.Contains(t, errOut, "janitor audit: connect to postgres://u:xxxxx@127.0.0.1:1/db")
		require.NotContains(t, errOut, "pw")
		require.Empty(t, out)
	})

	t.Run("no database", func(t *testing.T) {
		t.Parallel()
		code, _, errOut := janitor(t, nil, "audit")
		require.Equal(t, exitFailure, code)
		require.Contains(t, errOut, "janitor audit: no database")
	})

	t.Run("failing query", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Migrated(t)
		_, err := db.DB.Exec(`ALTER TABLE user_registrations DROP COLUMN ip_address`)
		require.NoError(t, err)
		code, out, errOut := janitor(t, nil, "audit", "--database-url", db.URL)
		require.Equal(t, exitFailure, code)
		require.Contains(t, errOut, "janitor audit: audit user_registrations.ip_address")
		require.Empty(t, out, "no partial report")
	})
}
