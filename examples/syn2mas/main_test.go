package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/syn2mas"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// bundle is a Synapse database plus configuration files for it.
type bundle struct {
	db      *pgtest.Database
	dir     string
	synapse string // homeserver.yaml
	mas     string // mas.yaml
}

// setup gives a test a Synapse database for example.com with one user
// linked to the configured and MAS-claimed provider, and configurations
// that pass every check.
func setup(t *testing.T) bundle {
	t.Helper()
	db := pgtest.Empty(t)
	synapsetest.CreateTables(t, db.DB)
	synapsetest.AddUser(t, db.DB, "@alice:example.com", false)
	synapsetest.AddExternalID(t, db.DB, "oidc-google", "g1", "@alice:example.com")
	dir := t.TempDir()
	return bundle{
		db:  db,
		dir: dir,
		synapse: write(t, dir, "homeserver.yaml", `
server_name: example.com
database: {name: sqlite3, args: {database: /data/homeserver.db}}  # replaced by --synapse-database-uri
oidc_providers:
  - {idp_id: google, issuer: "https://accounts.google.com", client_id: c}
`),
		mas: write(t, dir, "mas.yaml", `
matrix: {homeserver: example.com}
passwords: {schemes: [{version: 1, algorithm: bcrypt}]}
upstream_oauth2: {providers: [{id: 01JSHPZHAXC50QBKH67MH33TNF, synapse_idp_id: oidc-google}]}
`),
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// args are the check arguments for b, followed by extra.
func (b bundle) args(extra ...string) []string {
	return append([]string{"check", "--config", b.mas, "--synapse-config", b.synapse, "--synapse-database-uri", b.db.URL}, extra...)
}

// result is one in-process run of the command.
type result struct {
	code           int
	stdout, stderr string
}

func runCmd(args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func TestCheckExitCodes(t *testing.T) {
	t.Parallel()

	t.Run("NoFindingsExits0", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := runCmd(b.args()...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, "No problems found: the migration can start.\n", r.stdout)
		require.Empty(t, r.stderr)
	})

	t.Run("WarningsOnlyExit11", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		synapsetest.AddUser(t, b.db.DB, "@guest:example.com", true)
		r := runCmd(b.args()...)
		require.Equal(t, 11, r.code, r.stderr)
		require.Contains(t, r.stdout, "Warnings (1):\n  - [guest_users] 1 guest user: migrated as guest accounts")
		require.NotContains(t, r.stdout, "Errors")
		require.Contains(t, r.stdout, "rerun with --allow-warnings")
	})

	t.Run("AllowWarningsExits0OnWarnings", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		synapsetest.AddUser(t, b.db.DB, "@guest:example.com", true)
		r := runCmd(b.args("--allow-warnings")...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "[guest_users]", "the warnings are still shown")
		require.Contains(t, r.stdout, "accepted with --allow-warnings")
	})

	t.Run("ErrorsExit10EvenWithAllowWarnings", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		synapsetest.AddUser(t, b.db.DB, "@guest:example.com", true)
		synapsetest.AddUser(t, b.db.DB, "@bob:elsewhere.org", false)
		for _, extra := range [][]string{nil, {"--allow-warnings"}} {
			r := runCmd(b.args(extra...)...)
			require.Equal(t, 10, r.code, r.stderr)
			errorsAt, warningsAt := strings.Index(r.stdout, "Errors (1):"), strings.Index(r.stdout, "Warnings (1):")
			require.True(t, errorsAt >= 0 && warningsAt > errorsAt, "errors are listed before warnings:\n%s", r.stdout)
			require.Contains(t, r.stdout, "[foreign_server_users] 1 user has a Matrix ID that is not on server_name")
			require.Contains(t, r.stdout, "1 error and 1 warning: fix the errors before migrating.")
		}
	})

	t.Run("IgnoreMissingAuthProvidersTurnsTheErrorIntoAWarning", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		synapsetest.AddExternalID(t, b.db.DB, "oidc-removed", "r1", "@alice:example.com")

		strict := runCmd(b.args()...)
		require.Equal(t, 10, strict.code, strict.stderr)
		require.Contains(t, strict.stdout, "Errors (1):\n  - [unknown_auth_provider] auth provider \"oidc-removed\" has 1 linked user, but")

		lenient := runCmd(b.args("--ignore-missing-auth-providers")...)
		require.Equal(t, 11, lenient.code, lenient.stderr)
		require.Contains(t, lenient.stdout, "Warnings (1):\n  - [unknown_auth_provider] auth provider \"oidc-removed\" has 1 linked user, but")

		accepted := runCmd(b.args("--ignore-missing-auth-providers", "--allow-warnings")...)
		require.Equal(t, 0, accepted.code, accepted.stderr)
	})

	t.Run("IgnoreMissingAuthProvidersLeavesOtherErrors", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		synapsetest.AddExternalID(t, b.db.DB, "oauth-delegated", "d1", "@alice:example.com")
		r := runCmd(b.args("--ignore-missing-auth-providers")...)
		require.Equal(t, 10, r.code, r.stderr)
		require.Contains(t, r.stdout, "DELETE FROM user_external_ids WHERE auth_provider = 'oauth-delegated';")
	})
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()

	t.Run("FindingsParseBack", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		synapsetest.AddUser(t, b.db.DB, "@guest:example.com", true)
		synapsetest.AddExternalID(t, b.db.DB, "oidc-removed", "r1", "@alice:example.com")
		synapsetest.AddExternalID(t, b.db.DB, "oidc-removed", "r2", "@guest:example.com")
		r := runCmd(b.args("--json", "--ignore-missing-auth-providers")...)
		require.Equal(t, 11, r.code, r.stderr)

		var got []syn2mas.Finding
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
		require.Len(t, got, 2)
		require.Equal(t, syn2mas.Finding{
			Code: syn2mas.CodeGuestUsers, Severity: syn2mas.SeverityWarning, Count: 1,
			Message: "1 guest user: migrated as guest accounts without their sessions; MAS has no guest access, so they stay logged out",
		}, got[0])
		require.Equal(t, syn2mas.CodeUnknownAuthProvider, got[1].Code)
		require.Equal(t, syn2mas.SeverityWarning, got[1].Severity)
		require.Equal(t, "oidc-removed", got[1].Provider)
		require.Equal(t, int64(2), got[1].Count)

		// Keys are lower case, as scripts expect.
		var raw []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &raw))
		require.Equal(t, map[string]any{"code": "unknown_auth_provider", "severity": "warning", "provider": "oidc-removed", "count": 2.0, "message": got[1].Message}, raw[1])
	})

	t.Run("NoFindingsIsAnEmptyArray", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := runCmd(b.args("--json")...)
		require.Equal(t, 0, r.code, r.stderr)
		require.JSONEq(t, "[]", r.stdout)
	})
}

func TestCheckCouldNotRun(t *testing.T) {
	t.Parallel()

	t.Run("MalformedSynapseYAML", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		bad := write(t, b.dir, "broken.yaml", "server_name: example.com\nenable_registration: [true\n")
		r := runCmd("check", "--config", b.mas, "--synapse-config", bad, "--synapse-database-uri", b.db.URL)
		require.Equal(t, 1, r.code)
		require.Empty(t, r.stdout)
		require.Contains(t, r.stderr, "syn2mas check: could not check: "+bad+":")
		require.Contains(t, r.stderr, "malformed YAML")
	})

	t.Run("WrongTypeNamesFileAndLine", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		bad := write(t, b.dir, "types.yaml", "server_name: example.com\nallow_guest_access: sometimes\n")
		r := runCmd("check", "--config", b.mas, "--synapse-config", bad)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, bad+`:2:21: allow_guest_access: expected a boolean, got string "sometimes"`)
	})

	t.Run("MalformedMASYAML", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		bad := write(t, b.dir, "mas-broken.yaml", "matrix: {homeserver: example.com\n")
		r := runCmd("check", "--config", bad, "--synapse-config", b.synapse, "--synapse-database-uri", b.db.URL)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, bad+":")
	})

	t.Run("MissingFile", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		missing := filepath.Join(b.dir, "conf.d", "nope.yaml")
		r := runCmd("check", "--config", b.mas, "--synapse-config", b.synapse, "--synapse-config", missing)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, missing)
		require.Contains(t, r.stderr, "no such file or directory")
	})

	t.Run("EmptyDatabase", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		empty := pgtest.Empty(t)
		r := runCmd("check", "--config", b.mas, "--synapse-config", b.synapse, "--synapse-database-uri", empty.URL)
		require.Equal(t, 1, r.code)
		require.Equal(t, "syn2mas check: could not check: not a Synapse database: tables users, user_threepids, user_external_ids, devices, access_tokens, refresh_tokens missing\n", r.stderr)
	})

	t.Run("DatabaseWithoutUserExternalIDs", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.db.DB.ExecContext(t.Context(), "DROP TABLE user_external_ids")
		require.NoError(t, err)
		r := runCmd(b.args()...)
		require.Equal(t, 1, r.code)
		require.Equal(t, "syn2mas check: could not check: not a Synapse database: table user_external_ids missing\n", r.stderr)
	})

	t.Run("SQLiteDatabase", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := runCmd("check", "--config", b.mas, "--synapse-config", b.synapse)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, `database.name "sqlite3": database not supported`)
	})

	t.Run("UnreachableDatabaseHidesThePassword", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := runCmd("check", "--config", b.mas, "--synapse-config", b.synapse,
			"--synapse-database-uri", "postgres://synapse:hunter2@127.0.0.1:1/synapse?connect_timeout=2")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "connect to database postgres://synapse:xxxxx@127.0.0.1:1/synapse")
		require.NotContains(t, r.stderr, "hunter2")
	})
}

func TestUsage(t *testing.T) {
	t.Parallel()

	for name, tt := range map[string]struct {
		args []string
		want string
	}{
		"NoCommand":           {nil, "usage: syn2mas check"},
		"UnknownCommand":      {[]string{"upgrade"}, `unknown command "upgrade"`},
		"MigrateWithoutMAS":   {[]string{"migrate", "--synapse-config", "h.yaml"}, "--config (the MAS configuration) is required"},
		"MissingConfig":       {[]string{"check", "--synapse-config", "h.yaml"}, "--config (the MAS configuration) is required"},
		"MissingSynapse":      {[]string{"check", "--config", "m.yaml"}, "--synapse-config (the Synapse configuration) is required"},
		"UnknownFlag":         {[]string{"check", "--config", "m.yaml", "--synapse-config", "h.yaml", "--frobnicate"}, "flag provided but not defined: -frobnicate"},
		"PositionalArgument":  {[]string{"check", "--config", "m.yaml", "--synapse-config", "h.yaml", "extra"}, `unexpected argument "extra"`},
		"FlagWithoutArgument": {[]string{"check", "--config"}, "flag needs an argument: -config"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(tt.args...)
			require.Equal(t, 2, r.code)
			require.Empty(t, r.stdout)
			require.Contains(t, r.stderr, tt.want)
		})
	}

	t.Run("HelpExits0", func(t *testing.T) {
		t.Parallel()
		r := runCmd("help")
		require.Equal(t, 0, r.code)
		require.Contains(t, r.stdout, "usage: syn2mas check")
	})
}
