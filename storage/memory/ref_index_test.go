package memory

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

func TestReverseIndexFollowsRollback(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")

	// setup returns a store holding a finished browser session of user u.
	setup := func(t *testing.T) (context.Context, *storage.TestClock, *Store, *storage.User, *storage.UserSession) {
		ctx, clock, s := t.Context(), storage.NewTestClock(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)), New()
		u, err := s.Users().Add(ctx, clock, "alice")
		require.NoError(t, err)
		browser, err := s.UserSessions().Add(ctx, clock, u, "ua")
		require.NoError(t, err)
		_, err = s.UserSessions().Finish(ctx, clock, browser)
		require.NoError(t, err)
		return ctx, clock, s, u, browser
	}
	cleanupBrowsers := func(ctx context.Context, clock storage.Clock, repo storage.Repository) (storage.Batch, error) {
		return repo.UserSessions().CleanupFinished(ctx, storage.Cursor{}, clock.Now().Add(time.Second), 10)
	}

	t.Run("RolledBackChildDoesNotBlock", func(t *testing.T) {
		t.Parallel()
		ctx, clock, s, u, browser := setup(t)
		err := s.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
			if _, err := tx.CompatSessions().Add(ctx, clock, u, "DEV", browser, false); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		requireIndexesMatchRows(t, s.st)

		// The compat session never existed: nothing blocks the browser session.
		b, err := cleanupBrowsers(ctx, clock, s)
		require.NoError(t, err)
		require.Equal(t, 1, b.Affected)
		_, err = s.UserSessions().Lookup(ctx, browser.ID)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("RolledBackDeleteStillBlocks", func(t *testing.T) {
		t.Parallel()
		ctx, clock, s, u, browser := setup(t)
		compat, err := s.CompatSessions().Add(ctx, clock, u, "DEV", browser, false)
		require.NoError(t, err)
		err = s.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
			if _, err := tx.CompatSessions().Finish(ctx, clock, compat); err != nil {
				return err
			}
			b, err := tx.CompatSessions().CleanupFinished(ctx, storage.Cursor{}, clock.Now().Add(time.Second), 10)
			if err != nil {
				return err
			}
			if b.Affected != 1 {
				return fmt.Errorf("compat cleanup affected %d, want 1", b.Affected)
			}
			// Inside the transaction the browser session has no child left.
			if b, err = cleanupBrowsers(ctx, clock, tx); err != nil {
				return err
			}
			if b.Affected != 1 {
				return fmt.Errorf("browser cleanup affected %d, want 1", b.Affected)
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		requireIndexesMatchRows(t, s.st)

		// The compat session is back, and blocks the browser session again.
		b, err := cleanupBrowsers(ctx, clock, s)
		require.NoError(t, err)
		require.Equal(t, storage.Batch{Affected: 0, Scanned: 1, Cursor: b.Cursor}, b)
		_, err = s.UserSessions().Lookup(ctx, browser.ID)
		require.NoError(t, err)
		got, err := s.CompatSessions().Lookup(ctx, compat.ID)
		require.NoError(t, err)
		require.Nil(t, got.FinishedAt)
	})

	t.Run("RolledBackUnlinkStillCascades", func(t *testing.T) {
		t.Parallel()
		ctx, clock, s, u, browser := setup(t)
		compat, err := s.CompatSessions().Add(ctx, clock, u, "DEV", nil, false)
		require.NoError(t, err)
		login, err := s.CompatSessions().AddSSOLogin(ctx, clock, "tok", "https://example.org")
		require.NoError(t, err)
		_, err = s.CompatSessions().FulfillSSOLogin(ctx, clock, login, compat, browser)
		require.NoError(t, err)
		// A failed delete of the browser session: the SSO login's CASCADE
		// ran, then the statement was undone.
		err = s.write(ctx, func(st *state) error {
			if err := st.deleteRows(map[string][]ulid.ULID{tUserSessions: {browser.ID}}); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		requireIndexesMatchRows(t, s.st)

		// The login is back and still goes with the browser session.
		_, err = s.CompatSessions().FindSSOLogin(ctx, "tok")
		require.NoError(t, err)
		b, err := cleanupBrowsers(ctx, clock, s)
		require.NoError(t, err)
		require.Equal(t, 1, b.Affected)
		_, err = s.CompatSessions().FindSSOLogin(ctx, "tok")
		require.ErrorIs(t, err, storage.ErrNotFound)
		requireIndexesMatchRows(t, s.st)
	})
}

// requireIndexesMatchRows fails unless every reverse index of st holds
// exactly what the rows of its table reference.
func requireIndexesMatchRows(t *testing.T, st *state) {
	t.Helper()
	requireRefsMatchRows(t, st.authentications)
	requireRefsMatchRows(t, st.compatSessions)
	requireRefsMatchRows(t, st.compatAccess)
	requireRefsMatchRows(t, st.compatRefresh)
	requireRefsMatchRows(t, st.compatSSOLogins)
	requireRefsMatchRows(t, st.oauth2Sessions)
	requireRefsMatchRows(t, st.oauth2Access)
	requireRefsMatchRows(t, st.oauth2Refresh)
	requireRefsMatchRows(t, st.authGrants)
	requireRefsMatchRows(t, st.deviceGrants)
	requireRefsMatchRows(t, st.upstreamSessions)
	requireRefsMatchRows(t, st.recoveryTickets)
	requireRefsMatchRows(t, st.registrations)
	requireRefsMatchRows(t, st.emailAuths)
	requireRefsMatchRows(t, st.emailAuthCodes)
	requireRefsMatchRows(t, st.jobs)
	requireRefsMatchRows(t, st.schedules)
	requireRefsMatchRows(t, st.leader)
	requireRefsMatchRows(t, st.personalTokens)
}

// requireRefsMatchRows fails unless each reverse index of tbl equals one
// built afresh from its rows.
func requireRefsMatchRows[K comparable, V any](t *testing.T, tbl *table[K, V]) {
	t.Helper()
	for _, x := range tbl.refs {
		fresh := &refIndex[K, V]{fk: x.fk, ref: x.ref, m: make(map[ulid.ULID]set[K])}
		for k, v := range tbl.rows {
			fresh.add(k, v)
		}
		require.Equal(t, fresh.m, x.m, "%s: %s", tbl.name, x.fk)
	}
}
