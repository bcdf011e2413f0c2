package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// build compiles the command in dir (relative to this package) into a
// temporary directory and returns the binary's path.
func build(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, dir).CombinedOutput()
	require.NoError(t, err, "go build %s: %s", dir, out)
	return bin
}

// waitFor polls cond every 5 ms until it holds, failing after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A migration killed with SIGKILL while it loads rows, or while it rebuilds
// the indexes and constraints, leaves a database that does not look
// migrated (no users table); the next run finds it, starts over, and ends
// with the very rows an uninterrupted run writes.
func TestKilledMigrationStartsOver(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binaries and migrates 50 000 users several times")
	}
	syn2masBin := build(t, ".", "syn2mas")
	janitorBin := build(t, "../janitor", "janitor")
	b := setupMigrate(t, "", 50000)

	migrate := func(target *pgtest.Database) *exec.Cmd {
		cmd := exec.CommandContext(t.Context(), syn2masBin, b.migrateArgs("--database-url", target.URL)...)
		cmd.Stdout, cmd.Stderr = new(bytes.Buffer), new(bytes.Buffer)
		require.NoError(t, cmd.Start())
		return cmd
	}
	finish := func(cmd *exec.Cmd) string {
		t.Helper()
		require.NoError(t, cmd.Wait(), "stderr: %s", cmd.Stderr)
		return cmd.Stdout.(*bytes.Buffer).String()
	}
	digest := func(target *pgtest.Database) map[string]string {
		t.Helper()
		d, err := synapsetest.Digest(t.Context(), target.DB.DB)
		require.NoError(t, err)
		return d
	}

	// Targets already migrated: the schema migrations of an empty database
	// are tested elsewhere and take longer than the migration itself.
	reference := pgtest.Migrated(t)
	finish(migrate(reference))
	want := digest(reference)

	for _, c := range []struct {
		phase string
		db    func(target *pgtest.Database) *pgtest.Database // where to watch
		query string                                         // a statement of that phase
	}{
		{"Load", func(*pgtest.Database) *pgtest.Database { return b.db }, `%FROM devices%UNION ALL%`},
		{"IndexRestore", func(target *pgtest.Database) *pgtest.Database { return target }, `CREATE%INDEX%syn2mas__%`},
	} {
		t.Run(c.phase, func(t *testing.T) {
			target := pgtest.Migrated(t)
			cmd := migrate(target)
			watch := c.db(target)
			waitFor(t, time.Minute, "a statement like "+c.query, func() bool {
				var n int
				require.NoError(t, watch.DB.Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1`, c.query))
				return n > 0
			})
			require.NoError(t, cmd.Process.Kill())
			require.Error(t, cmd.Wait(), "killed")

			// Half-done, and visibly so: the tables are hidden, their
			// definitions saved.
			var usersVisible, restoreTables int
			require.NoError(t, target.DB.Get(&usersVisible, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'users'`))
			require.NoError(t, target.DB.Get(&restoreTables, `SELECT count(*) FROM pg_tables WHERE tablename IN ('syn2mas_restore_constraints', 'syn2mas_restore_indices')`))
			require.Equal(t, [2]int{0, 2}, [2]int{usersVisible, restoreTables})

			// The killed run's backends notice within a second that their
			// client is gone, and let go of their locks.
			for _, db := range []*pgtest.Database{b.db, target} {
				waitFor(t, 30*time.Second, "the killed run's backends to end", func() bool {
					var n int
					require.NoError(t, db.DB.Get(&n, `SELECT count(*) FROM pg_stat_activity
						WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`))
					return n == 0
				})
			}
			out := finish(migrate(target))
			require.Contains(t, out, "An earlier run had stopped half-way: its rows were removed and the schema restored first.")
			require.Equal(t, want, digest(target))

			verify := exec.CommandContext(t.Context(), janitorBin, "verify", "--database-url", target.URL)
			vout, err := verify.CombinedOutput()
			require.NoError(t, err, "janitor verify: %s", vout)
			require.True(t, strings.HasPrefix(string(vout), "schema ok"), string(vout))
		})
	}
}
