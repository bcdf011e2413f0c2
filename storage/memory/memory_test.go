package memory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/memory"
	"github.com/masstore/masstore/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return memory.New() })
}

type bundle struct {
	ctx   context.Context
	clock *storage.TestClock
	store *memory.Store
}

func setup(t *testing.T) bundle {
	t.Helper()
	return bundle{
		ctx:   context.Background(),
		clock: storage.NewTestClock(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)),
		store: memory.New(),
	}
}

func TestTransact(t *testing.T) {
	t.Parallel()

	t.Run("ErrorRestoresState", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		alice, err := b.store.Users().Add(b.ctx, b.clock, "alice")
		require.NoError(t, err)
		browser, err := b.store.UserSessions().Add(b.ctx, b.clock, alice, "ua")
		require.NoError(t, err)

		boom := errors.New("boom")
		err = b.store.Transact(b.ctx, func(ctx context.Context, tx storage.Repository) error {
			if _, err := tx.Users().Add(ctx, b.clock, "bob"); err != nil {
				return err
			}
			if _, err := tx.UserSessions().Finish(ctx, b.clock, browser); err != nil {
				return err
			}
			if _, err := tx.Users().Deactivate(ctx, b.clock, alice); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)

		_, err = b.store.Users().FindByUsername(b.ctx, "bob")
		require.ErrorIs(t, err, storage.ErrNotFound)
		got, err := b.store.UserSessions().Lookup(b.ctx, browser.ID)
		require.NoError(t, err)
		require.Nil(t, got.FinishedAt)
		u, err := b.store.Users().Lookup(b.ctx, alice.ID)
		require.NoError(t, err)
		require.Nil(t, u.DeactivatedAt)
		// The username bob is free again: the unique index was restored too.
		_, err = b.store.Users().Add(b.ctx, b.clock, "bob")
		require.NoError(t, err)
	})

	t.Run("ErrRollbackReturnsNil", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := b.store.Transact(b.ctx, func(ctx context.Context, tx storage.Repository) error {
			if _, err := tx.Users().Add(ctx, b.clock, "carol"); err != nil {
				return err
			}
			return fmt.Errorf("dry run: %w", storage.ErrRollback)
		})
		require.NoError(t, err)
		_, err = b.store.Users().FindByUsername(b.ctx, "carol")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("PanicRollsBackAndRepanics", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.PanicsWithValue(t, "kaboom", func() {
			_ = b.store.Transact(b.ctx, func(ctx context.Context, tx storage.Repository) error {
				if _, err := tx.Users().Add(ctx, b.clock, "dave"); err != nil {
					return err
				}
				panic("kaboom")
			})
		})
		_, err := b.store.Users().FindByUsername(b.ctx, "dave")
		require.ErrorIs(t, err, storage.ErrNotFound)
		// The lock was released.
		_, err = b.store.Users().Add(b.ctx, b.clock, "dave")
		require.NoError(t, err)
	})

	t.Run("CommitKeepsChanges", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := b.store.Transact(b.ctx, func(ctx context.Context, tx storage.Repository) error {
			_, err := tx.Users().Add(ctx, b.clock, "erin")
			return err
		})
		require.NoError(t, err)
		_, err = b.store.Users().FindByUsername(b.ctx, "erin")
		require.NoError(t, err)
	})

	t.Run("TxRepositoryUnusableAfterwards", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var leaked storage.Repository
		require.NoError(t, b.store.Transact(b.ctx, func(_ context.Context, tx storage.Repository) error {
			leaked = tx
			return nil
		}))
		_, err := leaked.Users().Add(b.ctx, b.clock, "frank")
		require.Error(t, err)
	})
}

func TestFailedOperationLeavesNoTrace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u, err := b.store.Users().Add(b.ctx, b.clock, "alice")
	require.NoError(t, err)
	// A taken username fails the insert and changes nothing.
	_, err = b.store.Users().Add(b.ctx, b.clock, "alice")
	require.ErrorIs(t, err, storage.ErrConflict)
	got, err := b.store.Users().FindByUsername(b.ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, u.ID, got.ID)
}

func TestReturnedRowsAreCopies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u, err := b.store.Users().Add(b.ctx, b.clock, "alice")
	require.NoError(t, err)
	locked, err := b.store.Users().Lock(b.ctx, b.clock, u)
	require.NoError(t, err)
	*locked.LockedAt = locked.LockedAt.Add(time.Hour)
	locked.Username = "mallory"

	got, err := b.store.Users().Lookup(b.ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, "alice", got.Username)
	require.Equal(t, storage.Now(b.clock), *got.LockedAt)
}

func TestReturnedPersonalAndPolicyRowsAreCopies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u, err := b.store.Users().Add(b.ctx, b.clock, "alice")
	require.NoError(t, err)
	s, err := b.store.PersonalSessions().Add(b.ctx, b.clock, storage.PersonalSessionOwner{User: u}, u, "bot", []string{"openid"})
	require.NoError(t, err)
	tok, err := b.store.PersonalSessions().AddAccessToken(b.ctx, b.clock, s, "mpt_x", time.Hour)
	require.NoError(t, err)
	revoked, err := b.store.PersonalSessions().Revoke(b.ctx, b.clock, s)
	require.NoError(t, err)
	p, err := b.store.PolicyData().Set(b.ctx, b.clock, []byte(`{"a":1}`))
	require.NoError(t, err)

	revoked.Scope[0] = "mallory"
	*revoked.RevokedAt = revoked.RevokedAt.Add(time.Hour)
	*tok.ExpiresAt = tok.ExpiresAt.Add(time.Hour)
	p.Data[2] = 'b'

	gotS, err := b.store.PersonalSessions().Lookup(b.ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"openid"}, gotS.Scope)
	require.Equal(t, storage.Now(b.clock), *gotS.RevokedAt)
	gotT, err := b.store.PersonalSessions().LookupAccessToken(b.ctx, tok.ID)
	require.NoError(t, err)
	require.Equal(t, storage.Now(b.clock).Add(time.Hour), *gotT.ExpiresAt)
	gotP, err := b.store.PolicyData().Latest(b.ctx)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(gotP.Data))
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(b.ctx)
	cancel()
	_, err := b.store.Users().Add(ctx, b.clock, "alice")
	require.ErrorIs(t, err, context.Canceled)
	err = b.store.Transact(ctx, func(context.Context, storage.Repository) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u, err := b.store.Users().Add(b.ctx, b.clock, "alice")
	require.NoError(t, err)
	w, err := b.store.Queue().RegisterWorker(b.ctx, b.clock)
	require.NoError(t, err)
	const n = 50
	for i := range n {
		_, err := b.store.Queue().Enqueue(b.ctx, b.clock, "q", nil)
		require.NoError(t, err, i)
	}

	var wg sync.WaitGroup
	reserved := make(chan int, 8*n)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				s, err := b.store.UserSessions().Add(b.ctx, b.clock, u, "ua")
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := b.store.UserSessions().Finish(b.ctx, b.clock, s); err != nil {
					t.Error(err)
					return
				}
				jobs, err := b.store.Queue().Reserve(b.ctx, b.clock, w, []string{"q"}, 1)
				if err != nil {
					t.Error(err)
					return
				}
				reserved <- len(jobs)
				_ = b.store.Transact(b.ctx, func(ctx context.Context, tx storage.Repository) error {
					_, err := tx.Users().Add(ctx, b.clock, fmt.Sprintf("u%d-%d", g, i))
					if err != nil {
						return err
					}
					return storage.ErrRollback
				})
				if _, err := b.store.UserSessions().CleanupFinished(b.ctx, storage.Cursor{}, b.clock.Now().Add(time.Second), 3); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(reserved)
	total := 0
	for k := range reserved {
		total += k
	}
	// Every job was reserved exactly once.
	require.Equal(t, n, total)
	sessions, err := b.store.UserSessions().ListByUser(b.ctx, u.ID)
	require.NoError(t, err)
	require.Empty(t, sessions)
}
