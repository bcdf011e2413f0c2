package syn2mas_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/schema"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/syn2mas"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// googleProvider is the MAS upstream provider the test configuration maps
// Synapse's "oidc-google" to.
const googleProvider = "01JSHPZHAXC50QBKH67MH33TNF"

const migrateMASDoc = `
matrix: {homeserver: example.com}
passwords: {schemes: [{version: 1, algorithm: bcrypt}]}
upstream_oauth2:
  providers:
    - id: ` + googleProvider + `
      synapse_idp_id: oidc-google
      issuer: https://accounts.google.com
      client_id: mas-client
      scope: openid profile
      token_endpoint_auth_method: client_secret_basic
      human_name: Google
`

// migration is a Synapse database and an empty MAS database to migrate it
// into, with configurations whose checks pass.
type migration struct {
	t      *testing.T
	syn    *pgtest.Database
	mas    *pgtest.Database
	opts   syn2mas.MigrateOptions
	now    time.Time
	report *syn2mas.Report
}

// migrationNow is the clock's time during test migrations.
var migrationNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newMigration(t *testing.T) *migration {
	t.Helper()
	syn := pgtest.Empty(t)
	synapsetest.CreateTables(t, syn.DB)
	return &migration{
		t:   t,
		syn: syn,
		mas: pgtest.Migrated(t),
		now: migrationNow,
		opts: syn2mas.MigrateOptions{
			Synapse: mustLoadSynapse(t, "server_name: example.com\noidc_providers: [{idp_id: google, issuer: 'https://accounts.google.com', client_id: c}]\n"),
			MAS:     mustLoadMAS(t, migrateMASDoc),
		},
	}
}

// run migrates and returns the error.
func (m *migration) run() error {
	m.t.Helper()
	r, err := syn2mas.Migrate(m.t.Context(), m.syn.DB.DB, m.mas.DB.DB, storage.FixedClock(m.now), m.opts)
	m.report = r
	return err
}

// mustRun migrates and fails the test on an error.
func (m *migration) mustRun() *syn2mas.Report {
	m.t.Helper()
	require.NoError(m.t, m.run())
	return m.report
}

// count returns the number of rows of a MAS table.
func (m *migration) count(table string) int {
	m.t.Helper()
	var n int
	require.NoError(m.t, m.mas.DB.GetContext(m.t.Context(), &n, `SELECT count(*) FROM `+table))
	return n
}

// requireSchemaIntact fails unless the MAS database has MAS's schema, every
// index and constraint included, and no trace of a migration in progress.
func (m *migration) requireSchemaIntact() {
	m.t.Helper()
	fs, err := schema.Verify(m.t.Context(), m.mas.DB.DB)
	require.NoError(m.t, err)
	require.Empty(m.t, fs)
	var leftovers []string
	require.NoError(m.t, m.mas.DB.SelectContext(m.t.Context(), &leftovers,
		`SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema AND tablename LIKE 'syn2mas%' ORDER BY 1`))
	require.Empty(m.t, leftovers)
}

// requireNothingMigrated fails unless every target table is empty and the
// schema is intact.
func (m *migration) requireNothingMigrated() {
	m.t.Helper()
	for _, table := range []string{"users", "user_passwords", "user_emails", "user_unsupported_third_party_ids",
		"upstream_oauth_links", "compat_sessions", "compat_access_tokens", "compat_refresh_tokens"} {
		require.Zero(m.t, m.count(table), table)
	}
	m.requireSchemaIntact()
}

// idTime returns the time part of a uuid column's ULID.
func idTime(t *testing.T, uuid string) time.Time {
	t.Helper()
	id, err := ulidx.ParseUUID(uuid)
	require.NoError(t, err)
	return ulid.Time(id.Time()).UTC()
}

// requireIDAt fails unless uuid is a ULID whose time part is at (to the
// millisecond).
func requireIDAt(t *testing.T, at time.Time, uuid string) {
	t.Helper()
	require.Equal(t, at.UTC().Truncate(time.Millisecond), idTime(t, uuid), "time part of %s", uuid)
}

// utc reads a nullable timestamp as UTC, nil when NULL.
func utc(v sql.NullTime) *time.Time {
	if !v.Valid {
		return nil
	}
	u := v.Time.UTC()
	return &u
}

func ptr[T any](v T) *T { return &v }

// ms is a Synapse millisecond timestamp as a time.
func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

// ulidTime is the time part of a ULID in its string form.
func ulidTime(t *testing.T, s string) time.Time {
	t.Helper()
	id, err := ulid.ParseStrict(s)
	require.NoError(t, err)
	return ulid.Time(id.Time()).UTC()
}
