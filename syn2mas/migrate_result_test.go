package syn2mas_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/postgres"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// The migrated database is MAS's: the library's repositories read it and
// the cleanup jobs work on it.
func TestMigratedDatabaseServesTheRepositories(t *testing.T) {
	t.Parallel()
	m := withAlice(t)
	db := m.syn.DB
	_, err := db.Exec(`UPDATE devices SET ip = '192.0.2.7', last_seen = $1 WHERE device_id = 'PHONE'`, synapsetest.CreatedTS)
	require.NoError(t, err)
	synapsetest.AddThreepid(t, db, "@alice:example.com", "email", "alice@example.com")
	m.mustRun()
	ctx := t.Context()
	store := postgres.New(m.mas.DB)

	alice, err := store.Users().FindByUsername(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, time.UnixMilli(synapsetest.CreatedTS).UTC(), alice.CreatedAt.UTC())

	token, err := store.CompatSessions().FindAccessToken(ctx, "syt_a")
	require.NoError(t, err, "a migrated access token authenticates")
	session, err := store.CompatSessions().Lookup(ctx, token.SessionID)
	require.NoError(t, err)
	require.Equal(t, alice.ID, session.UserID)
	require.Equal(t, "PHONE", session.DeviceID)
	require.Nil(t, session.FinishedAt)
	require.Equal(t, "192.0.2.7", session.LastActiveIP.String())

	// The IP was last seen in 2023: the IP job clears it.
	clock := storage.NewTestClock(m.now)
	_, err = cleanup.RunAll(ctx, store, clock, cleanup.Options{})
	require.NoError(t, err)
	session, err = store.CompatSessions().Lookup(ctx, token.SessionID)
	require.NoError(t, err)
	require.False(t, session.LastActiveIP.IsValid(), "the stale IP was cleared")

	// A migrated session that ends is deleted, tokens and all, once past
	// its retention; the user stays.
	_, err = store.CompatSessions().Finish(ctx, clock, session)
	require.NoError(t, err)
	clock.Advance(60 * 24 * time.Hour)
	reports, err := cleanup.RunAll(ctx, store, clock, cleanup.Options{})
	require.NoError(t, err)
	deleted := map[string]int{}
	for _, r := range reports {
		deleted[r.Job] = r.Affected
	}
	require.Equal(t, 1, deleted["cleanup-finished-compat-sessions"])
	_, err = store.CompatSessions().FindAccessToken(ctx, "syt_a")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = store.Users().FindByUsername(ctx, "alice")
	require.NoError(t, err)
	m.requireSchemaIntact()
}
