package syn2mas_test

import (
	"fmt"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/syn2mas"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// databaseSection turns a test database URL into Synapse's `database`
// section, so that Check connects the way it would in production.
func databaseSection(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	require.NotEmpty(t, u.Scheme, "this test needs a URL, not a key=value string")
	pw, _ := u.User.Password()
	sslmode := u.Query().Get("sslmode")
	if sslmode == "" {
		sslmode = "prefer"
	}
	return fmt.Sprintf("database:\n  name: psycopg2\n  args: {user: %q, password: %q, dbname: %q, host: %q, port: %q, sslmode: %q, cp_min: 1}\n",
		u.User.Username(), pw, u.Path[1:], u.Hostname(), u.Port(), sslmode)
}

func TestCheck(t *testing.T) {
	t.Parallel()

	const masDoc = `
matrix: {homeserver: example.com}
passwords: {schemes: [{version: 1, algorithm: bcrypt}]}
upstream_oauth2: {providers: [{id: 01JSHPZHAXC50QBKH67MH33TNF, synapse_idp_id: oidc-google}]}
`
	setup := func(t *testing.T) (*pgtest.Database, string, string) {
		db := pgtest.Empty(t)
		synapsetest.CreateTables(t, db.DB)
		synapsetest.AddUser(t, db.DB, "@alice:example.com", false)
		synapsetest.AddExternalID(t, db.DB, "oidc-google", "g1", "@alice:example.com")
		dir := t.TempDir()
		syn := writeFile(t, dir, "homeserver.yaml", "server_name: example.com\n"+
			"oidc_providers: [{idp_id: google, issuer: 'https://accounts.google.com', client_id: c}]\n"+
			databaseSection(t, db.URL))
		return db, syn, writeFile(t, dir, "mas.yaml", masDoc)
	}

	t.Run("CleanSetupHasNoFindings", func(t *testing.T) {
		t.Parallel()
		_, syn, mas := setup(t)
		fs, err := syn2mas.Check(t.Context(), syn2mas.Options{SynapseConfigPaths: []string{syn}, MASConfigPath: mas, LookupEnv: env(nil)})
		require.NoError(t, err)
		require.Empty(t, fs)
	})

	t.Run("ReportsConfigMASAndDatabaseFindingsInOrder", func(t *testing.T) {
		t.Parallel()
		db, syn, mas := setup(t)
		synapsetest.AddUser(t, db.DB, "@guest:example.com", true)
		synapsetest.AddExternalID(t, db.DB, "oidc-removed", "r1", "@alice:example.com")
		extra := writeFile(t, filepath.Join(t.TempDir(), "conf.d"), "registration.yaml", "enable_registration: true\nallow_guest_access: true\n")
		opts := syn2mas.Options{SynapseConfigPaths: []string{syn, filepath.Dir(extra)}, MASConfigPath: mas, LookupEnv: env(nil)}

		fs, err := syn2mas.Check(t.Context(), opts)
		require.NoError(t, err)
		require.Equal(t, []string{
			"warning registration_enabled", "error guest_access_enabled", "warning guest_users", "error unknown_auth_provider",
		}, codes(fs))

		opts.IgnoreMissingAuthProviders = true
		ignored, err := syn2mas.Check(t.Context(), opts)
		require.NoError(t, err)
		require.Equal(t, []string{
			"warning registration_enabled", "error guest_access_enabled", "warning guest_users", "warning unknown_auth_provider",
		}, codes(ignored))
		require.Equal(t, fs[3].Message, ignored[3].Message)
		require.Equal(t, fs[3].Count, ignored[3].Count)
	})

	t.Run("URIOverridesTheDatabaseSection", func(t *testing.T) {
		t.Parallel()
		db, _, mas := setup(t)
		syn := writeFile(t, t.TempDir(), "homeserver.yaml",
			"server_name: example.com\ndatabase: {name: sqlite3, args: {database: /nonexistent/homeserver.db}}\n"+
				"oidc_providers: [{idp_id: google, issuer: i, client_id: c}]\n")
		fs, err := syn2mas.Check(t.Context(), syn2mas.Options{SynapseConfigPaths: []string{syn}, MASConfigPath: mas, SynapseDatabaseURI: db.URL})
		require.NoError(t, err)
		require.Empty(t, fs)
	})

	t.Run("SQLiteIsNotSupported", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		syn := writeFile(t, dir, "homeserver.yaml", "server_name: example.com\ndatabase: {name: sqlite3, args: {database: homeserver.db}}\n")
		_, err := syn2mas.Check(t.Context(), syn2mas.Options{SynapseConfigPaths: []string{syn}, MASConfigPath: writeFile(t, dir, "mas.yaml", masDoc)})
		require.ErrorIs(t, err, syn2mas.ErrUnsupportedDatabase)
	})

	t.Run("EmptyDatabaseIsNotSynapse", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		dir := t.TempDir()
		syn := writeFile(t, dir, "homeserver.yaml", "server_name: example.com\n")
		_, err := syn2mas.Check(t.Context(), syn2mas.Options{
			SynapseConfigPaths: []string{syn}, MASConfigPath: writeFile(t, dir, "mas.yaml", masDoc), SynapseDatabaseURI: db.URL,
		})
		require.ErrorIs(t, err, syn2mas.ErrNotSynapseDatabase)
	})

	t.Run("UnreachableDatabaseHidesThePassword", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		syn := writeFile(t, dir, "homeserver.yaml",
			"server_name: example.com\ndatabase: {name: psycopg2, args: {host: 127.0.0.1, port: 1, user: u, password: hunter2, dbname: d}}\n")
		_, err := syn2mas.Check(t.Context(), syn2mas.Options{SynapseConfigPaths: []string{syn}, MASConfigPath: writeFile(t, dir, "mas.yaml", masDoc), LookupEnv: env(nil)})
		require.ErrorContains(t, err, "connect to database")
		require.NotContains(t, err.Error(), "hunter2")
	})

	t.Run("MissingInputs", func(t *testing.T) {
		t.Parallel()
		_, err := syn2mas.Check(t.Context(), syn2mas.Options{MASConfigPath: "mas.yaml"})
		require.ErrorContains(t, err, "no Synapse configuration given")
		_, err = syn2mas.Check(t.Context(), syn2mas.Options{SynapseConfigPaths: []string{"homeserver.yaml"}})
		require.ErrorContains(t, err, "no MAS configuration given")
	})
}
