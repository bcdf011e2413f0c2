package syn2mas_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/syn2mas"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// A writer connection terminated by the server (an operator's
// pg_terminate_backend, a failover) fails the migration with an error
// naming the table and the cause; the run cleans up after itself and a
// rerun migrates everything.
func TestWriterTerminatedMidLoad(t *testing.T) {
	t.Parallel()
	pop := synapsetest.Population{ServerName: "example.com", Users: 20000}
	m := newMigration(t)
	require.NoError(t, synapsetest.Generate(t.Context(), m.syn.DB.DB, pop))

	terminated := 0
	m.opts.Progress = func(p syn2mas.Progress) {
		if p.Kind != syn2mas.KindDevices || terminated > 0 {
			return
		}
		require.NoError(t, m.syn.DB.Get(&terminated, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = $1 AND query LIKE 'COPY "syn2mas__compat_access_tokens"%'`, m.mas.Name))
	}
	err := m.run()
	require.Equal(t, 1, terminated, "one writer was terminated while devices were loading")
	require.ErrorContains(t, err, "write compat_access_tokens: ")
	require.ErrorContains(t, err, "the connection to the MAS database was lost (ended by the server, or the network failed)")
	m.requireNothingMigrated()

	m.opts.Progress = nil
	r := m.mustRun()
	require.False(t, r.Recovered, "the failed run restored the schema itself")
	require.Equal(t, int64(pop.Expect().AccessTokens), r.Rows["compat_access_tokens"])
	require.Equal(t, pop.Expect().AccessTokens, m.count("compat_access_tokens"))
	m.requireSchemaIntact()
}

// Cancelling the context (the operator's Ctrl-C) mid-load stops the
// migration with the context's error and leaves nothing behind.
func TestCancelledMidLoad(t *testing.T) {
	t.Parallel()
	m := newMigration(t)
	require.NoError(t, synapsetest.Generate(t.Context(), m.syn.DB.DB, synapsetest.Population{ServerName: "example.com", Users: 5000}))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	m.opts.Progress = func(p syn2mas.Progress) {
		if p.Kind == syn2mas.KindThreepids {
			cancel()
		}
	}
	_, err := syn2mas.Migrate(ctx, m.syn.DB.DB, m.mas.DB.DB, storage.FixedClock(m.now), m.opts)
	require.ErrorIs(t, err, context.Canceled)
	m.requireNothingMigrated()
}
