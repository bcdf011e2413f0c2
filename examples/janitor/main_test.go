package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// janitor runs the command in-process and returns its exit code and output.
func janitor(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestMigrateStatusVerify(t *testing.T) {
	t.Parallel()
	db := pgtest.Empty(t)
	n := len(schema.Migrations())

	code, out, errOut := janitor(t, nil, "verify", "--database-url", db.URL)
	require.Equal(t, exitFindings, code, errOut)
	require.Contains(t, out, "table users is missing")

	code, out, _ = janitor(t, nil, "status", "--database-url", db.URL)
	require.Equal(t, exitOK, code)
	require.Contains(t, out, fmt.Sprintf("0 applied, %d pending", n))

	// DATABASE_URL stands in for the flag.
	code, out, errOut = janitor(t, map[string]string{"DATABASE_URL": db.URL}, "migrate")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "applied 0001_baseline")
	require.Contains(t, out, fmt.Sprintf("%d migration(s) applied", n))

	code, out, _ = janitor(t, nil, "migrate", "--database-url", db.URL)
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "0 migration(s) applied")

	code, out, _ = janitor(t, nil, "status", "--database-url", db.URL)
	require.Equal(t, exitOK, code)
	require.Contains(t, out, fmt.Sprintf("%d applied, 0 pending", n))

	code, out, _ = janitor(t, nil, "verify", "--database-url", db.URL)
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "schema ok")

	_, err := db.DB.Exec(`ALTER TABLE compat_sessions DROP CONSTRAINT compat_sessions_user_session_id_fkey;
		ALTER TABLE compat_sessions ADD CONSTRAINT compat_sessions_user_session_id_fkey FOREIGN KEY (user_session_id) REFERENCES user_sessions(user_session_id) ON DELETE SET NULL`)
	require.NoError(t, err)
	code, out, _ = janitor(t, nil, "verify", "--database-url", db.URL)
	require.Equal(t, exitFindings, code)
	require.Contains(t, out, "compat_sessions_user_session_id_fkey on compat_sessions differs")
}

func TestDatabaseErrors(t *testing.T) {
	t.Parallel()

	code, _, errOut := janitor(t, nil, "migrate")
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, "pass --database-url or set DATABASE_URL")

	// Nothing listens on port 1; the password must not leak into the message.
	code, _, errOut = janitor(t, nil, "status", "--database-url", "postgres://bob:s3cret-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	require.Equal(t, exitFailure, code)
	require.Contains(t, errOut, "connect to postgres://bob:xxxxx@127.0.0.1:1/db")
	require.NotContains(t, errOut, "s3cret-pw")

	code, _, errOut = janitor(t, nil, "frobnicate")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, `unknown command "frobnicate"`)

	code, _, _ = janitor(t, nil, "verify", "--no-such-flag")
	require.Equal(t, exitUsage, code)
}
