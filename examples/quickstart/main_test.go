package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// quickstart runs the example in-process and returns its output.
func quickstart(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	return stdout.String()
}

// requireStory checks the points the quickstart exists to show.
func requireStory(t *testing.T, out string) {
	t.Helper()
	require.Contains(t, out, "day 32  night: bob's browser session, finished on day 1, survives: his phone's compat session")
	require.Contains(t, out, "day 20  Example IdP sends a back-channel logout for bob")
	require.Contains(t, out, "day 50  night: bob's browser session is gone now that its compat session is")
	require.Contains(t, out, "day 31  night: cleanup removed finished-compat-sessions 1, finished-user-sessions 1")
	// Every IP address older than its retention is gone by the end.
	audit := out[strings.Index(out, "privacy audit"):]
	for _, line := range strings.Split(strings.TrimSpace(audit), "\n")[1:] {
		require.True(t, strings.HasSuffix(line, " 0"), line)
	}
}

func TestQuickstartInMemory(t *testing.T) {
	t.Parallel()
	requireStory(t, quickstart(t))
}

func TestQuickstartOnPostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.Empty(t)
	out := quickstart(t, "--database-url", db.URL)
	require.Contains(t, out, "masstore quickstart on PostgreSQL")
	requireStory(t, out)

	// Memory and PostgreSQL tell the same story, line for line.
	mem := quickstart(t)
	require.Equal(t, strings.SplitN(mem, "\n", 2)[1], strings.SplitN(out, "\n", 2)[1])

	// A database with users is refused: every job would run on real data.
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--database-url", db.URL}, func(string) string { return "" }, &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "wants an empty scratch database")
}

func TestQuickstartFlags(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, run(context.Background(), []string{"--days", "0"}, func(string) string { return "" }, &stdout, &stderr))
	require.Contains(t, stderr.String(), "--days 0 out of range")
}
