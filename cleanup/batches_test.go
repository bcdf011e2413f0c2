package cleanup_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
)

var ipA = netip.MustParseAddr("192.0.2.9")

// compatWithTokens is a compat session and the values of its two tokens.
type compatWithTokens struct {
	*storage.CompatSession
	access, refresh string
}

// finishedCompatSessions makes n compat sessions with tokens, finished at
// the clock's time, in one transaction.
func finishedCompatSessions(t *testing.T, w *world, n int) []compatWithTokens {
	t.Helper()
	var out []compatWithTokens
	require.NoError(t, w.store.Transact(w.ctx, func(ctx context.Context, tx storage.Repository) error {
		u, err := tx.Users().Add(ctx, w.clock, w.name("user"))
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			s, err := tx.CompatSessions().Add(ctx, w.clock, u, w.name("D"), nil, false)
			if err != nil {
				return err
			}
			c := compatWithTokens{access: w.name("cat"), refresh: w.name("crt")}
			at, err := tx.CompatSessions().AddAccessToken(ctx, w.clock, s, c.access, 0)
			if err != nil {
				return err
			}
			if _, err := tx.CompatSessions().AddRefreshToken(ctx, w.clock, s, at, c.refresh); err != nil {
				return err
			}
			if c.CompatSession, err = tx.CompatSessions().Finish(ctx, w.clock, s); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	}))
	return out
}

// windowSizes are the ways the finished-compat-session job runs: one
// statement per batch, and deletes by ID out of windows read ahead.
var windowSizes = []int{0, 1000}

func eachWindowSize(t *testing.T, fn func(t *testing.T, window int)) {
	for _, window := range windowSizes {
		t.Run(fmt.Sprintf("window=%d", window), func(t *testing.T) { fn(t, window) })
	}
}

func TestTenThousandCandidatesInBatchesOfHundred(t *testing.T) {
	t.Parallel()
	eachWindowSize(t, func(t *testing.T, window int) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			sessions := finishedCompatSessions(t, w, 10000)
			w.clock.Advance(31 * days)

			var mu sync.Mutex
			var batches []cleanup.BatchInfo
			r, err := cleanup.Run(w.ctx, mustJob(t, "cleanup-finished-compat-sessions"), store, w.clock, cleanup.Options{
				BatchSize:  100,
				WindowSize: window,
				OnBatch: func(b cleanup.BatchInfo) {
					mu.Lock()
					defer mu.Unlock()
					batches = append(batches, b)
				},
			})
			require.NoError(t, err)
			require.Equal(t, 101, r.Batches, "100 full batches and one short")
			var cursor storage.Cursor
			for i, b := range batches[:100] {
				require.Equal(t, 100, b.Affected)
				// The cursor moves on with every batch, or with every window.
				moved := b.Cursor.Time.After(cursor.Time) || b.Cursor.Time.Equal(cursor.Time) && b.Cursor.ID.Compare(cursor.ID) > 0
				require.Equal(t, window == 0 || (i+1)%(window/100) == 0, moved, "batch %d: cursor %v after %v", i+1, b.Cursor, cursor)
				if moved {
					cursor = b.Cursor
				}
			}
			require.Zero(t, batches[100].Affected)
			require.Equal(t, 10000, r.Affected, "each row counted once")
			for _, s := range []compatWithTokens{sessions[0], sessions[4999], sessions[9999]} {
				require.False(t, w.compatExists(s.CompatSession))
			}
		})
	})
}

func TestCancellationLeavesNothingHalfDeleted(t *testing.T) {
	t.Parallel()
	eachWindowSize(t, func(t *testing.T, window int) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			sessions := finishedCompatSessions(t, w, 500)
			w.clock.Advance(31 * days)

			ctx, cancel := context.WithCancel(w.ctx)
			r, err := cleanup.Run(ctx, mustJob(t, "cleanup-finished-compat-sessions"), store, w.clock, cleanup.Options{
				BatchSize:  50,
				WindowSize: window,
				OnBatch: func(b cleanup.BatchInfo) {
					if b.Number == 3 {
						cancel()
					}
				},
			})
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, cleanup.StoppedCancelled, r.Stopped)
			require.Equal(t, 150, r.Affected, "three committed batches")
			// A run stopped inside a window reports the cursor before it:
			// everything up to the cursor is done.
			require.Equal(t, window > 0, r.Cursor.IsZero(), "cursor %v", r.Cursor)

			// Each session is either gone with its tokens, or there with them.
			gone := 0
			for _, s := range sessions {
				if !w.compatExists(s.CompatSession) {
					gone++
				}
			}
			require.Equal(t, 150, gone)
			requireTokensFollowSessions(t, w, sessions)

			r, err = cleanup.Run(w.ctx, mustJob(t, "cleanup-finished-compat-sessions"), store, w.clock, cleanup.Options{BatchSize: 50, WindowSize: window})
			require.NoError(t, err)
			require.Equal(t, 350, r.Affected)
			requireTokensFollowSessions(t, w, sessions)
		})
	})
}

// requireTokensFollowSessions checks that no token outlives its session and
// that no live session lost a token.
func requireTokensFollowSessions(t *testing.T, w *world, sessions []compatWithTokens) {
	t.Helper()
	for _, s := range sessions {
		live := w.compatExists(s.CompatSession)
		_, errAccess := w.store.CompatSessions().FindAccessToken(w.ctx, s.access)
		_, errRefresh := w.store.CompatSessions().FindRefreshToken(w.ctx, s.refresh)
		if live {
			require.NoError(t, errAccess, "live session %s lost its access token", s.ID)
			require.NoError(t, errRefresh, "live session %s lost its refresh token", s.ID)
		} else {
			require.ErrorIs(t, errAccess, storage.ErrNotFound, "deleted session %s left its access token", s.ID)
			require.ErrorIs(t, errRefresh, storage.ErrNotFound, "deleted session %s left its refresh token", s.ID)
		}
	}
}

func mustJob(t *testing.T, name string) cleanup.Job {
	t.Helper()
	j, err := cleanup.Lookup(name)
	require.NoError(t, err)
	return j
}

func TestShortRetentionNeverWedgesOnYoungGrants(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, store storage.Store) {
		w := newWorld(t, store)
		u := w.user()
		b := w.browser(u)
		o := w.oauth(u, b)
		grants := store.OAuth2Grants()
		g, err := grants.AddAuthorizationGrant(w.ctx, w.clock, w.client, "https://app.example/", "openid", w.name("code"))
		require.NoError(t, err)
		_, err = grants.FulfillAuthorizationGrant(w.ctx, w.clock, g, o, b)
		require.NoError(t, err)
		d, err := grants.AddDeviceCodeGrant(w.ctx, w.clock, w.client, "openid", w.name("dev"), w.name("usr"), time.Hour, ipA, "tv")
		require.NoError(t, err)
		_, err = grants.FulfillDeviceCodeGrant(w.ctx, w.clock, d, b)
		require.NoError(t, err)
		_, err = grants.ExchangeDeviceCodeGrant(w.ctx, w.clock, d, o)
		require.NoError(t, err)
		_, err = store.OAuth2Sessions().Finish(w.ctx, w.clock, o)
		require.NoError(t, err)
		_, err = store.UserSessions().Finish(w.ctx, w.clock, b)
		require.NoError(t, err)

		// Finished sessions kept one hour, grants seven days: the grants are
		// young when their session goes.
		w.clock.Advance(2 * time.Hour)
		got := w.runAll(cleanup.Options{Retention: map[string]time.Duration{
			"cleanup-finished-oauth2-sessions": time.Hour,
			"cleanup-finished-user-sessions":   time.Hour,
		}})
		require.Equal(t, 1, got["cleanup-finished-oauth2-sessions"])
		require.Equal(t, 1, got["cleanup-finished-user-sessions"])
		require.False(t, w.oauthExists(o))
		require.False(t, w.browserExists(b))
		_, err = grants.LookupAuthorizationGrant(w.ctx, g.ID)
		require.ErrorIs(t, err, storage.ErrNotFound, "deleted with its session")
		_, err = grants.LookupDeviceCodeGrant(w.ctx, d.ID)
		require.ErrorIs(t, err, storage.ErrNotFound, "deleted with its session")
	})
}

func TestReplicasRunningAtOnceCountEachRowOnce(t *testing.T) {
	t.Parallel()
	eachWindowSize(t, func(t *testing.T, window int) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			sessions := finishedCompatSessions(t, w, 2000)
			w.clock.Advance(31 * days)

			var wg sync.WaitGroup
			totals := make([]int, 4)
			errs := make([]error, 4)
			for i := range totals {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := cleanup.Run(w.ctx, mustJob(t, "cleanup-finished-compat-sessions"), store, w.clock, cleanup.Options{BatchSize: 25, WindowSize: window})
					totals[i], errs[i] = r.Affected, err
				}()
			}
			wg.Wait()
			sum := 0
			for i := range totals {
				require.NoError(t, errs[i])
				sum += totals[i]
			}
			require.Equal(t, 2000, sum, "the replicas' counts add up to the rows deleted")
			for _, s := range sessions {
				require.False(t, w.compatExists(s.CompatSession))
			}
		})
	})
}

func TestPrivacyAuditIsZeroAfterAFullRun(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, store storage.Store) {
		w := newWorld(t, store)
		u := w.user()
		b := w.browser(u)
		c := w.compat(u, b)
		require.NoError(t, store.CompatSessions().RecordActivity(w.ctx, w.clock, c.ID, ipA))
		o := w.oauth(u, b)
		require.NoError(t, store.OAuth2Sessions().RecordActivity(w.ctx, w.clock, o.ID, ipA))
		_, err := store.Recovery().AddSession(w.ctx, w.clock, "a@example.org", "curl", ipA, "en")
		require.NoError(t, err)
		_, err = store.Registrations().Add(w.ctx, w.clock, "newcomer", ipA, "curl")
		require.NoError(t, err)
		_, err = store.OAuth2Grants().AddDeviceCodeGrant(w.ctx, w.clock, w.client, "openid", "dev", "usr", time.Hour, ipA, "tv")
		require.NoError(t, err)
		p, err := store.PersonalSessions().Add(w.ctx, w.clock, storage.PersonalSessionOwner{User: u}, u, "bot", nil)
		require.NoError(t, err)
		require.NoError(t, store.PersonalSessions().RecordActivity(w.ctx, w.clock, p.ID, ipA))

		w.clock.Advance(31 * days)
		audit, err := cleanup.AuditIPs(w.ctx, store, w.clock, cleanup.Options{})
		require.NoError(t, err)
		require.Len(t, audit, 7)
		for _, a := range audit {
			require.Equal(t, 1, a.Stale, a.Table)
		}
		w.runAll(cleanup.Options{})
		audit, err = cleanup.AuditIPs(w.ctx, store, w.clock, cleanup.Options{})
		require.NoError(t, err)
		for _, a := range audit {
			require.Zero(t, a.Stale, a.Table)
		}
	})
}
