package storagetest

import (
	"net/netip"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

func recoveryCleanup(r storage.Repository) storage.CleanupFunc { return r.Recovery().CleanupSessions }

func registrationCleanup(r storage.Repository) storage.CleanupFunc {
	return r.Registrations().CleanupRegistrations
}

func emailAuthenticationCleanup(r storage.Repository) storage.CleanupFunc {
	return r.Registrations().CleanupEmailAuthentications
}

// flowCleanupCases: account recovery, registrations, email authentications.
func flowCleanupCases() []cleanupCase {
	return []cleanupCase{
		recoveryCase(),
		registrationCase(),
		{
			name:  "Registrations.CleanupEmailAuthentications",
			run:   emailAuthenticationCleanup,
			order: byULIDAge,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when)
				a := mustEmailAuthentication(e.t, e.store, e.clock, nil, mustRegistration(e.t, e.store, e.clock))
				return func() bool { return e.hasEmailAuthentication(a.ID) }
			},
			rules: []cleanupRule{
				{"DeletesCodesAndUnlinksRegistration", func(e *cleanupEnv) {
					e.set(-2 * time.Hour)
					reg := mustRegistration(e.t, e.store, e.clock)
					e.set(-time.Hour)
					a := mustEmailAuthentication(e.t, e.store, e.clock, nil, reg)
					mustEmailCode(e.t, e.store, e.clock, a)
					reg, err := e.store.Registrations().SetEmailAuthentication(e.ctx, reg, a)
					require.NoError(e.t, err)
					require.Equal(e.t, a.ID, reg.EmailAuthenticationID)

					require.Equal(e.t, 1, e.batch(emailAuthenticationCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasEmailAuthentication(a.ID))
					require.Zero(e.t, e.getRegistration(reg.ID).EmailAuthenticationID)
				}},
				{"DeletesAuthenticationsOfBrowserSessions", func(e *cleanupEnv) {
					e.set(-time.Hour)
					browser := mustUserSession(e.t, e.store, e.clock, mustUser(e.t, e.store, e.clock))
					a := mustEmailAuthentication(e.t, e.store, e.clock, browser, nil)

					require.Equal(e.t, 1, e.batch(emailAuthenticationCleanup(e.store), storage.Cursor{}, 10).Affected)
					require.False(e.t, e.hasEmailAuthentication(a.ID))
					require.True(e.t, e.hasUserSession(browser.ID))
				}},
			},
		},
	}
}

func recoveryCase() cleanupCase {
	return cleanupCase{
		name:  "Recovery.CleanupSessions",
		run:   recoveryCleanup,
		order: byULIDAge,
		add: func(e *cleanupEnv, when time.Time) func() bool {
			e.clock.Set(when)
			s := mustRecoverySession(e.t, e.store, e.clock)
			return func() bool { return e.hasRecoverySession(s.ID) }
		},
		rules: []cleanupRule{{"DeletesTicketsAndConsumedSessions", func(e *cleanupEnv) {
			e.set(-time.Hour)
			email := mustEmail(e.t, e.store, e.clock, mustUser(e.t, e.store, e.clock))
			s := mustRecoverySession(e.t, e.store, e.clock)
			ticket := mustRecoveryTicket(e.t, e.store, e.clock, s, email)
			consumed := mustRecoverySession(e.t, e.store, e.clock)
			_, err := e.store.Recovery().ConsumeSession(e.ctx, e.clock, consumed)
			require.NoError(e.t, err)

			require.Equal(e.t, 2, e.batch(recoveryCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasRecoverySession(s.ID))
			require.False(e.t, e.hasRecoveryTicket(ticket.Ticket))
			require.False(e.t, e.hasRecoverySession(consumed.ID))
		}}},
	}
}

func registrationCase() cleanupCase {
	return cleanupCase{
		name:  "Registrations.CleanupRegistrations",
		run:   registrationCleanup,
		order: byULIDAge,
		add: func(e *cleanupEnv, when time.Time) func() bool {
			e.clock.Set(when)
			reg := mustRegistration(e.t, e.store, e.clock)
			return func() bool { return e.hasRegistration(reg.ID) }
		},
		rules: []cleanupRule{{"DeletesEmailAuthenticationsAndCompletedRegistrations", func(e *cleanupEnv) {
			e.set(-time.Hour)
			reg := mustRegistration(e.t, e.store, e.clock)
			completed := mustRegistration(e.t, e.store, e.clock)
			_, err := e.store.Registrations().Complete(e.ctx, e.clock, completed)
			require.NoError(e.t, err)
			e.set(time.Hour) // younger than the horizon: goes with its registration all the same
			a := mustEmailAuthentication(e.t, e.store, e.clock, nil, reg)
			mustEmailCode(e.t, e.store, e.clock, a)
			_, err = e.store.Registrations().SetEmailAuthentication(e.ctx, reg, a)
			require.NoError(e.t, err)

			require.Equal(e.t, 2, e.batch(registrationCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasRegistration(reg.ID))
			require.False(e.t, e.hasRegistration(completed.ID))
			require.False(e.t, e.hasEmailAuthentication(a.ID))
		}}},
	}
}

// flowCountCases: the IP audits of recovery sessions, registrations and
// device-code grants, each cleared by its ULID-age cleanup.
func flowCountCases() []countCase {
	return []countCase{
		deviceCodeGrantCountCase(),
		{
			name:  "Recovery.CountStaleIPs",
			count: func(r storage.Repository) storage.CountFunc { return r.Recovery().CountStaleIPs },
			clear: recoveryCase(),
			addWithoutIP: func(e *cleanupEnv, when time.Time) {
				e.clock.Set(when)
				_, err := e.store.Recovery().AddSession(e.ctx, e.clock, unique("lost")+"@example.org", "Mozilla/5.0", netip.Addr{}, "en")
				require.NoError(e.t, err)
			},
		},
		{
			name:  "Registrations.CountStaleIPs",
			count: func(r storage.Repository) storage.CountFunc { return r.Registrations().CountStaleIPs },
			clear: registrationCase(),
			addWithoutIP: func(e *cleanupEnv, when time.Time) {
				e.clock.Set(when)
				_, err := e.store.Registrations().Add(e.ctx, e.clock, unique("newbie"), netip.Addr{}, "Mozilla/5.0")
				require.NoError(e.t, err)
			},
		},
	}
}
