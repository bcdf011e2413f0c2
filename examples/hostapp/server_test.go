package hostapp_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/examples/hostapp"
	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/memory"
	"github.com/masstore/masstore/storage/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backends are the stores a host tests its wiring against: the in-memory
// one, fast and always there, and PostgreSQL, what production runs.
var backends = map[string]func(t *testing.T) storage.Store{
	"Memory":   func(*testing.T) storage.Store { return memory.New() },
	"Postgres": func(t *testing.T) storage.Store { return postgres.New(pgtest.Migrated(t).DB) },
}

func TestMaintenance(t *testing.T) {
	t.Parallel()
	for name, newStore := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := newStore(t)
			clock := storage.NewTestClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
			srv := hostapp.New(store, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))

			alice, err := srv.Login(ctx, "alice", "Firefox")
			require.NoError(t, err)
			bob, err := srv.Login(ctx, "bob", "Safari")
			require.NoError(t, err)
			phone, err := srv.SignInDevice(ctx, bob, "BOBPHONE")
			require.NoError(t, err)
			require.NoError(t, srv.Logout(ctx, alice))
			require.NoError(t, srv.Logout(ctx, bob))

			// Day 13: inside the host's 14-day retention, nothing goes.
			clock.Advance(13 * 24 * time.Hour)
			_, err = srv.Maintain(ctx)
			require.NoError(t, err)
			_, err = store.UserSessions().Lookup(ctx, alice.ID)
			require.NoError(t, err)

			// Day 15: alice's session goes; bob's stays, his phone still uses it.
			clock.Advance(2 * 24 * time.Hour)
			reports, err := srv.Maintain(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, affected(reports, "cleanup-finished-user-sessions"))
			_, err = store.UserSessions().Lookup(ctx, alice.ID)
			require.ErrorIs(t, err, storage.ErrNotFound)
			_, err = store.UserSessions().Lookup(ctx, bob.ID)
			require.NoError(t, err)
			_, err = store.CompatSessions().Lookup(ctx, phone.ID)
			require.NoError(t, err)
		})
	}
}

func TestServeRunsMaintenanceUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	store := memory.New()
	clock := storage.NewTestClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	srv := hostapp.New(store, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	alice, err := srv.Login(ctx, "alice", "Firefox")
	require.NoError(t, err)
	require.NoError(t, srv.Logout(ctx, alice))
	clock.Advance(15 * 24 * time.Hour)

	done := make(chan error)
	go func() { done <- srv.Serve(ctx, 10*time.Millisecond) }()
	require.Eventually(t, func() bool {
		_, err := store.UserSessions().Lookup(ctx, alice.ID)
		return errors.Is(err, storage.ErrNotFound)
	}, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

func affected(reports []cleanup.Report, job string) int {
	for _, r := range reports {
		if r.Job == job {
			return r.Affected
		}
	}
	return -1
}
