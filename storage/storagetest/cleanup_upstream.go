package storagetest

import (
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

func orphanedLinkCleanup(r storage.Repository) storage.CleanupFunc {
	return r.UpstreamOAuth().CleanupOrphanedLinks
}

func orphanedUpstreamSessionCleanup(r storage.Repository) storage.CleanupFunc {
	return r.UpstreamOAuth().CleanupOrphanedSessions
}

// upstreamCleanupCases: the orphaned upstream links and logins.
func upstreamCleanupCases() []cleanupCase {
	return []cleanupCase{
		{
			name:  "UpstreamOAuth.CleanupOrphanedLinks",
			run:   orphanedLinkCleanup,
			order: byULIDAge,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when)
				l := mustLink(e.t, e.store, e.clock, mustProvider(e.t, e.store, e.clock, storage.LogoutAll), nil)
				return func() bool { return e.hasLink(l.ID) }
			},
			rules: []cleanupRule{
				{"KeepsLinksWithAUser", func(e *cleanupEnv) {
					e.set(-time.Hour)
					p := mustProvider(e.t, e.store, e.clock, storage.LogoutAll)
					u := mustUser(e.t, e.store, e.clock)
					linked := mustLink(e.t, e.store, e.clock, p, u)
					associated := mustLink(e.t, e.store, e.clock, p, nil)
					_, err := e.store.UpstreamOAuth().AssociateLink(e.ctx, associated, u)
					require.NoError(e.t, err)
					requireUntouched(e, orphanedLinkCleanup(e.store),
						func() bool { return e.hasLink(linked.ID) },
						func() bool { return e.hasLink(associated.ID) })
				}},
				{"DeletesLoginsOfTheLink", func(e *cleanupEnv) {
					e.set(-time.Hour)
					p := mustProvider(e.t, e.store, e.clock, storage.LogoutAll)
					l := mustLink(e.t, e.store, e.clock, p, nil)
					old := mustCompletedUpstreamSession(e.t, e.store, e.clock, p, l, storage.IDTokenClaims{Sub: l.Subject})
					e.set(time.Hour) // younger than the horizon: goes with its link all the same
					young := mustCompletedUpstreamSession(e.t, e.store, e.clock, p, l, storage.IDTokenClaims{Sub: l.Subject})

					require.Equal(e.t, 1, e.batch(orphanedLinkCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasLink(l.ID))
					require.False(e.t, e.hasUpstreamSession(old.ID))
					require.False(e.t, e.hasUpstreamSession(young.ID))
				}},
			},
		},
		{
			name:  "UpstreamOAuth.CleanupOrphanedSessions",
			run:   orphanedUpstreamSessionCleanup,
			order: byULIDAge,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when)
				s := mustUpstreamSession(e.t, e.store, e.clock, mustProvider(e.t, e.store, e.clock, storage.LogoutAll))
				return func() bool { return e.hasUpstreamSession(s.ID) }
			},
			rules: []cleanupRule{
				{"KeepsLoginsOfABrowserSession", func(e *cleanupEnv) {
					e.set(-2 * time.Hour)
					p := mustProvider(e.t, e.store, e.clock, storage.LogoutAll)
					browser, up := mustUpstreamLogin(e.t, e.store, e.clock, p, mustUser(e.t, e.store, e.clock), storage.IDTokenClaims{Sub: unique("sub")})
					e.set(-time.Hour)
					mustFinishUserSession(e.t, e.store, e.clock, browser)
					requireUntouched(e, orphanedUpstreamSessionCleanup(e.store), func() bool { return e.hasUpstreamSession(up.ID) })
				}},
				{"DeletesCompletedLoginsNeverTiedToABrowserSession", func(e *cleanupEnv) {
					e.set(-time.Hour)
					p := mustProvider(e.t, e.store, e.clock, storage.LogoutAll)
					l := mustLink(e.t, e.store, e.clock, p, mustUser(e.t, e.store, e.clock))
					up := mustCompletedUpstreamSession(e.t, e.store, e.clock, p, l, storage.IDTokenClaims{Sub: l.Subject})

					require.Equal(e.t, 1, e.batch(orphanedUpstreamSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasUpstreamSession(up.ID))
					require.True(e.t, e.hasLink(l.ID))
				}},
				{"DeletesLoginsWhoseBrowserSessionWasCleanedUp", func(e *cleanupEnv) {
					e.set(-2 * time.Hour)
					p := mustProvider(e.t, e.store, e.clock, storage.LogoutAll)
					browser, up := mustUpstreamLogin(e.t, e.store, e.clock, p, mustUser(e.t, e.store, e.clock), storage.IDTokenClaims{Sub: unique("sub")})
					e.set(-time.Hour)
					mustFinishUserSession(e.t, e.store, e.clock, browser)

					requireUntouched(e, orphanedUpstreamSessionCleanup(e.store), func() bool { return e.hasUpstreamSession(up.ID) })
					require.Equal(e.t, 1, e.batch(userSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.Zero(e.t, e.getUpstreamSession(up.ID).UserSessionID)
					require.Equal(e.t, 1, e.batch(orphanedUpstreamSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasUpstreamSession(up.ID))
				}},
			},
		},
	}
}
