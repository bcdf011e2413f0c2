package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

var errBoom = errors.New("boom")

// written is what a transaction wrote: a new user, a browser session and a
// lock of an existing user, and a job.
type written struct {
	user    *storage.User
	session *storage.UserSession
	locked  *storage.User
	job     *storage.Job
}

// write makes the changes of written in tx; existing is the user it locks.
func write(ctx context.Context, clock storage.Clock, tx storage.Repository, existing *storage.User) (written, error) {
	var w written
	var err error
	if w.user, err = tx.Users().Add(ctx, clock, "inside"); err != nil {
		return w, err
	}
	if w.session, err = tx.UserSessions().Add(ctx, clock, existing, "Firefox"); err != nil {
		return w, err
	}
	if w.locked, err = tx.Users().Lock(ctx, clock, existing); err != nil {
		return w, err
	}
	w.job, err = tx.Queue().Enqueue(ctx, clock, "q", nil)
	return w, err
}

// requireRolledBack checks that nothing of w is in the store and existing
// is as it was.
func requireRolledBack(t *testing.T, b bundle, w written, existing *storage.User) {
	t.Helper()
	_, err := b.store.Users().Lookup(b.ctx, w.user.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = b.store.Users().FindByUsername(b.ctx, "inside")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = b.store.UserSessions().Lookup(b.ctx, w.session.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = b.store.Queue().LookupJob(b.ctx, w.job.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	got, err := b.store.Users().Lookup(b.ctx, existing.ID)
	require.NoError(t, err)
	require.Equal(t, existing, got)
	sessions, err := b.store.UserSessions().ListByUser(b.ctx, existing.ID)
	require.NoError(t, err)
	require.Empty(t, sessions)

	// The store still takes writes, including the ones rolled back.
	_, err = b.store.Users().Add(b.ctx, b.clock, "inside")
	require.NoError(t, err)
	_, err = b.store.Users().Lock(b.ctx, b.clock, existing)
	require.NoError(t, err)
}

// transactWrite runs write in a transaction of b's store, into *w, then ends
// the transaction with end; it returns what Transact returns.
func transactWrite(t *testing.T, b bundle, existing *storage.User, w *written, end func(ctx context.Context, tx storage.Repository) error) error {
	t.Helper()
	return b.store.Transact(b.ctx, func(ctx context.Context, tx storage.Repository) error {
		var err error
		*w, err = write(ctx, b.clock, tx, existing)
		require.NoError(t, err)
		return end(ctx, tx)
	})
}

func testTransact(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("NilCommits", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		existing := mustUser(t, b.store, b.clock)
		var w written

		err := transactWrite(t, b, existing, &w, func(context.Context, storage.Repository) error { return nil })
		require.NoError(t, err)
		got, err := b.store.Users().FindByUsername(b.ctx, "inside")
		require.NoError(t, err)
		require.Equal(t, w.user, got)
		s, err := b.store.UserSessions().Lookup(b.ctx, w.session.ID)
		require.NoError(t, err)
		require.Equal(t, w.session, s)
		u, err := b.store.Users().Lookup(b.ctx, existing.ID)
		require.NoError(t, err)
		require.Equal(t, w.locked, u)
		require.Equal(t, &Epoch, u.LockedAt)
		requireJob(t, w.job, lookupJob(t, b, w.job.ID))
	})

	t.Run("ReadsItsOwnWrites", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		existing := mustUser(t, b.store, b.clock)

		err := b.store.Transact(b.ctx, func(ctx context.Context, tx storage.Repository) error {
			w, err := write(ctx, b.clock, tx, existing)
			require.NoError(t, err)
			got, err := tx.Users().Lookup(ctx, w.user.ID)
			require.NoError(t, err)
			require.Equal(t, w.user, got)
			u, err := tx.Users().Lookup(ctx, existing.ID)
			require.NoError(t, err)
			require.Equal(t, w.locked, u)
			sessions, err := tx.UserSessions().ListByUser(ctx, existing.ID)
			require.NoError(t, err)
			require.Equal(t, []*storage.UserSession{w.session}, sessions)
			return nil
		})
		require.NoError(t, err)
	})

	// Each way the function ends that rolls back: what Transact returns.
	for _, c := range []struct {
		name string
		end  func(ctx context.Context, clock storage.Clock, tx storage.Repository) error
		want error // nil: Transact returns nil
	}{
		{"ErrorRollsBackEverything", func(context.Context, storage.Clock, storage.Repository) error { return errBoom }, errBoom},
		{"RepositoryErrorRollsBack", func(ctx context.Context, clock storage.Clock, tx storage.Repository) error {
			_, err := tx.Users().Add(ctx, clock, "inside") // taken by write
			return err
		}, storage.ErrConflict},
		{"ErrRollbackReturnsNilAndRollsBack", func(context.Context, storage.Clock, storage.Repository) error { return storage.ErrRollback }, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, f)
			existing := mustUser(t, b.store, b.clock)
			var w written

			err := transactWrite(t, b, existing, &w, func(ctx context.Context, tx storage.Repository) error {
				return c.end(ctx, b.clock, tx)
			})
			if c.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, c.want)
			}
			requireRolledBack(t, b, w, existing)
		})
	}

	t.Run("PanicRollsBackAndRepanics", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		existing := mustUser(t, b.store, b.clock)
		var w written

		recovered := func() (r any) {
			defer func() { r = recover() }()
			_ = transactWrite(t, b, existing, &w, func(context.Context, storage.Repository) error { panic(errBoom) })
			return nil
		}()
		require.Equal(t, errBoom, recovered)
		requireRolledBack(t, b, w, existing)
	})

	t.Run("ErrorRollsBackCompositeChanges", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		browser := mustUserSession(t, b.store, b.clock, u)
		compat := mustCompatSession(t, b.store, b.clock, u, browser)
		p := mustProvider(t, b.store, b.clock, storage.LogoutAll)
		l := mustUpstreamLoginWithChildren(t, b, p, u, storage.IDTokenClaims{Sub: "s"})
		b.clock.Advance(time.Hour)

		err := b.store.Transact(b.ctx, func(ctx context.Context, tx storage.Repository) error {
			_, err := tx.UpstreamOAuth().BackchannelLogout(ctx, b.clock, p, "s", "")
			require.NoError(t, err)
			_, err = tx.Users().Deactivate(ctx, b.clock, u)
			require.NoError(t, err)
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		got, err := b.store.Users().Lookup(b.ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, u, got)
		requireFinishedAt(t, b, l, nil, nil, nil)
		requireFinishedAt(t, b, upstreamLogin{browser: browser, compat: compat, oauth: l.oauth}, nil, nil, nil)
	})
}
