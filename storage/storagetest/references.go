package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// referenceCase is a foreign key pointing into a table a cleanup deletes
// from (schema/catalog/constraints.tsv), and a run of that cleanup while the
// reference exists: the batch must not fail, and the referencing row must be
// deleted, unlinked, or (where the contract says so) keep the referenced row
// in place.
type referenceCase struct {
	constraint string // table.constraint
	cleanup    string
	run        func(e *cleanupEnv)
}

func testCleanupReferences(t *testing.T, f Factory) {
	t.Parallel()
	for _, loc := range cleanupZones {
		t.Run(loc.String(), func(t *testing.T) {
			t.Parallel()
			for _, c := range referenceCases() {
				t.Run(c.constraint+"/"+c.cleanup, func(t *testing.T) {
					t.Parallel()
					c.run(newCleanupEnv(t, f, loc))
				})
			}
		})
	}
}

func referenceCases() []referenceCase {
	var cases []referenceCase
	cases = append(cases, userSessionReferenceCases()...)
	cases = append(cases, childSessionReferenceCases()...)
	cases = append(cases, tokenReferenceCases()...)
	cases = append(cases, upstreamReferenceCases()...)
	cases = append(cases, flowReferenceCases()...)
	cases = append(cases, queueReferenceCases()...)
	cases = append(cases, personalReferenceCases()...)
	return cases
}

// cleanUserSession starts a browser session two hours before the horizon,
// lets refer make rows that reference it, finishes it an hour before the
// horizon and runs the browser-session cleanup, which must delete it.
func (e *cleanupEnv) cleanUserSession(refer func(u *storage.User, s *storage.UserSession)) {
	e.t.Helper()
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	s := mustUserSession(e.t, e.store, e.clock, u)
	refer(u, s)
	e.set(-time.Hour)
	mustFinishUserSession(e.t, e.store, e.clock, s)

	require.Equal(e.t, 1, e.batch(userSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
	require.False(e.t, e.hasUserSession(s.ID))
}

// requireChildKeepsUserSession: a browser session that child references,
// finished before the horizon, is skipped by the browser-session cleanup.
func requireChildKeepsUserSession(e *cleanupEnv, child func(u *storage.User, s *storage.UserSession)) {
	e.t.Helper()
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	s := mustUserSession(e.t, e.store, e.clock, u)
	child(u, s)
	e.set(-time.Hour)
	mustFinishUserSession(e.t, e.store, e.clock, s)

	requireSkipped(e, userSessionCleanup(e.store), func() bool { return e.hasUserSession(s.ID) })
}

func userSessionReferenceCases() []referenceCase {
	const via = "UserSessions.CleanupFinished"
	return []referenceCase{
		{"user_session_authentications.user_session_authentications_user_session_id_fkey", via, func(e *cleanupEnv) {
			var s *storage.UserSession
			e.cleanUserSession(func(u *storage.User, us *storage.UserSession) {
				s = us
				_, err := e.store.UserSessions().AuthenticateWithPassword(e.ctx, e.clock, s, mustPassword(e.t, e.store, e.clock, u))
				require.NoError(e.t, err)
			})
			require.Empty(e.t, e.authentications(s.ID))
		}},
		{"compat_sessions.compat_sessions_user_session_id_fkey", via, func(e *cleanupEnv) {
			requireChildKeepsUserSession(e, func(u *storage.User, s *storage.UserSession) {
				mustCompatSession(e.t, e.store, e.clock, u, s)
			})
		}},
		{"oauth2_sessions.oauth2_sessions_user_session_id_fkey", via, func(e *cleanupEnv) {
			requireChildKeepsUserSession(e, func(u *storage.User, s *storage.UserSession) {
				mustOAuth2Session(e.t, e.store, e.clock, mustClient(e.t, e.store, e.clock), u, s)
			})
		}},
		{"compat_sso_logins.compat_sso_logins_user_session_id_fkey", via, func(e *cleanupEnv) {
			var login *storage.CompatSSOLogin
			e.cleanUserSession(func(u *storage.User, s *storage.UserSession) {
				login = mustSSOLogin(e.t, e.store, e.clock)
				_, err := e.store.CompatSessions().FulfillSSOLogin(e.ctx, e.clock, login, mustCompatSession(e.t, e.store, e.clock, u, nil), s)
				require.NoError(e.t, err)
			})
			require.False(e.t, e.hasSSOLogin(login.LoginToken))
		}},
		{"oauth2_authorization_grants.oauth2_authorization_grants_user_session_id_fkey", via, func(e *cleanupEnv) {
			var g *storage.OAuth2AuthorizationGrant
			e.cleanUserSession(func(u *storage.User, s *storage.UserSession) {
				client := mustClient(e.t, e.store, e.clock)
				var err error
				g, err = e.store.OAuth2Grants().FulfillAuthorizationGrant(e.ctx, e.clock, mustAuthorizationGrant(e.t, e.store, e.clock, client),
					mustOAuth2Session(e.t, e.store, e.clock, client, u, nil), s)
				require.NoError(e.t, err)
			})
			got, err := e.store.OAuth2Grants().LookupAuthorizationGrant(e.ctx, g.ID)
			require.NoError(e.t, err)
			require.Zero(e.t, got.UserSessionID)
		}},
		{"oauth2_device_code_grant.oauth2_device_code_grant_user_session_id_fkey", via, func(e *cleanupEnv) {
			var g *storage.OAuth2DeviceCodeGrant
			e.cleanUserSession(func(u *storage.User, s *storage.UserSession) {
				var err error
				g, err = e.store.OAuth2Grants().FulfillDeviceCodeGrant(e.ctx, e.clock, mustDeviceCodeGrant(e.t, e.store, e.clock, mustClient(e.t, e.store, e.clock)), s)
				require.NoError(e.t, err)
			})
			got, err := e.store.OAuth2Grants().LookupDeviceCodeGrant(e.ctx, g.ID)
			require.NoError(e.t, err)
			require.Zero(e.t, got.UserSessionID)
		}},
		{"upstream_oauth_authorization_sessions.upstream_oauth_authorization_sessions_user_session_id_fkey", via, func(e *cleanupEnv) {
			var up *storage.UpstreamOAuthSession
			e.cleanUserSession(func(u *storage.User, s *storage.UserSession) {
				p := mustProvider(e.t, e.store, e.clock, storage.LogoutAll)
				up = mustCompletedUpstreamSession(e.t, e.store, e.clock, p, mustLink(e.t, e.store, e.clock, p, u), storage.IDTokenClaims{Sub: unique("sub")})
				_, err := e.store.UserSessions().AuthenticateWithUpstream(e.ctx, e.clock, s, up)
				require.NoError(e.t, err)
				require.Equal(e.t, s.ID, e.getUpstreamSession(up.ID).UserSessionID)
			})
			require.Zero(e.t, e.getUpstreamSession(up.ID).UserSessionID)
		}},
		{"user_email_authentications.user_email_authentications_user_session_id_fkey", via, func(e *cleanupEnv) {
			var a *storage.EmailAuthentication
			e.cleanUserSession(func(_ *storage.User, s *storage.UserSession) {
				a = mustEmailAuthentication(e.t, e.store, e.clock, s, nil)
			})
			got, err := e.store.Registrations().LookupEmailAuthentication(e.ctx, a.ID)
			require.NoError(e.t, err)
			require.Zero(e.t, got.UserSessionID)
		}},
	}
}

// cleanCompatSession starts a compat session two hours before the horizon,
// lets refer make rows that reference it, finishes it an hour before the
// horizon and runs the compat-session cleanup, which must delete it.
func (e *cleanupEnv) cleanCompatSession(refer func(u *storage.User, c *storage.CompatSession)) {
	e.t.Helper()
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	c := mustCompatSession(e.t, e.store, e.clock, u, nil)
	refer(u, c)
	e.set(-time.Hour)
	mustFinishCompatSession(e.t, e.store, e.clock, c)

	require.Equal(e.t, 1, e.batch(compatSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
	require.False(e.t, e.hasCompatSession(c.ID))
}

// cleanOAuth2Session starts an OAuth 2.0 session two hours before the
// horizon, lets refer make rows that reference it, finishes it an hour
// before the horizon and runs the OAuth 2.0 session cleanup, which must
// delete it.
func (e *cleanupEnv) cleanOAuth2Session(refer func(client *storage.OAuth2Client, u *storage.User, o *storage.OAuth2Session)) {
	e.t.Helper()
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	client := mustClient(e.t, e.store, e.clock)
	o := mustOAuth2Session(e.t, e.store, e.clock, client, u, nil)
	refer(client, u, o)
	e.set(-time.Hour)
	mustFinishOAuth2Session(e.t, e.store, e.clock, o)

	require.Equal(e.t, 1, e.batch(oauth2SessionCleanup(e.store), storage.Cursor{}, 10).Affected)
	require.False(e.t, e.hasOAuth2Session(o.ID))
}

func childSessionReferenceCases() []referenceCase {
	const compat, oauth2 = "CompatSessions.CleanupFinished", "OAuth2Sessions.CleanupFinished"
	// compatTokens: a compat session with an access token and a refresh
	// token paired with it; both go with the session.
	compatTokens := func(e *cleanupEnv) {
		var access *storage.CompatAccessToken
		var refresh *storage.CompatRefreshToken
		e.cleanCompatSession(func(_ *storage.User, c *storage.CompatSession) {
			access = mustCompatAccessToken(e.t, e.store, e.clock, c, 0)
			refresh = mustCompatRefreshToken(e.t, e.store, e.clock, c, access)
		})
		require.False(e.t, e.hasCompatAccessToken(access.Token))
		require.False(e.t, e.hasCompatRefreshToken(refresh.Token))
	}
	return []referenceCase{
		{"compat_access_tokens.compat_access_tokens_compat_session_id_fkey", compat, compatTokens},
		{"compat_refresh_tokens.compat_refresh_tokens_compat_session_id_fkey", compat, compatTokens},
		{"compat_refresh_tokens.compat_refresh_tokens_compat_access_token_id_fkey", compat, compatTokens},
		{"compat_sso_logins.compat_sso_logins_compat_session_id_fkey", compat, func(e *cleanupEnv) {
			var login *storage.CompatSSOLogin
			var browser *storage.UserSession
			e.cleanCompatSession(func(u *storage.User, c *storage.CompatSession) {
				browser = mustUserSession(e.t, e.store, e.clock, u)
				login = mustSSOLogin(e.t, e.store, e.clock)
				_, err := e.store.CompatSessions().FulfillSSOLogin(e.ctx, e.clock, login, c, browser)
				require.NoError(e.t, err)
			})
			require.False(e.t, e.hasSSOLogin(login.LoginToken))
			require.True(e.t, e.hasUserSession(browser.ID))
		}},
		{"oauth2_access_tokens.oauth2_access_tokens_oauth2_session_id_fkey", oauth2, func(e *cleanupEnv) {
			var access *storage.OAuth2AccessToken
			e.cleanOAuth2Session(func(_ *storage.OAuth2Client, _ *storage.User, o *storage.OAuth2Session) {
				access = mustAccessToken(e.t, e.store, e.clock, o, time.Hour)
			})
			require.False(e.t, e.hasAccessToken(access.ID))
		}},
		// MAS names this constraint of oauth2_refresh_tokens after the access
		// tokens' one.
		{"oauth2_refresh_tokens.oauth2_access_tokens_oauth2_session_id_fkey", oauth2, func(e *cleanupEnv) {
			var refresh *storage.OAuth2RefreshToken
			e.cleanOAuth2Session(func(_ *storage.OAuth2Client, _ *storage.User, o *storage.OAuth2Session) {
				refresh = mustRefreshToken(e.t, e.store, e.clock, o, nil)
			})
			require.False(e.t, e.hasRefreshToken(refresh.ID))
		}},
		{"oauth2_refresh_tokens.oauth2_refresh_tokens_oauth2_access_token_id_fkey", oauth2, func(e *cleanupEnv) {
			var access *storage.OAuth2AccessToken
			var refresh *storage.OAuth2RefreshToken
			e.cleanOAuth2Session(func(_ *storage.OAuth2Client, _ *storage.User, o *storage.OAuth2Session) {
				access = mustAccessToken(e.t, e.store, e.clock, o, time.Hour)
				refresh = mustRefreshToken(e.t, e.store, e.clock, o, access)
			})
			require.False(e.t, e.hasAccessToken(access.ID))
			require.False(e.t, e.hasRefreshToken(refresh.ID))
		}},
		{"oauth2_refresh_tokens.oauth2_refresh_tokens_next_oauth2_refresh_token_id_fkey", oauth2, func(e *cleanupEnv) {
			var first, second *storage.OAuth2RefreshToken
			e.cleanOAuth2Session(func(_ *storage.OAuth2Client, _ *storage.User, o *storage.OAuth2Session) {
				first = mustRefreshToken(e.t, e.store, e.clock, o, nil)
				second = mustRefreshToken(e.t, e.store, e.clock, o, nil)
				e.consume(first, second)
			})
			require.False(e.t, e.hasRefreshToken(first.ID))
			require.False(e.t, e.hasRefreshToken(second.ID))
		}},
		{"oauth2_authorization_grants.tbl_oauth2_session_fkey", oauth2, func(e *cleanupEnv) {
			var g *storage.OAuth2AuthorizationGrant
			e.cleanOAuth2Session(func(client *storage.OAuth2Client, u *storage.User, o *storage.OAuth2Session) {
				var err error
				g, err = e.store.OAuth2Grants().FulfillAuthorizationGrant(e.ctx, e.clock, mustAuthorizationGrant(e.t, e.store, e.clock, client), o,
					mustUserSession(e.t, e.store, e.clock, u))
				require.NoError(e.t, err)
			})
			require.False(e.t, e.hasAuthorizationGrant(g.ID))
		}},
		{"oauth2_device_code_grant.oauth2_device_code_grant_oauth2_session_id_fkey", oauth2, func(e *cleanupEnv) {
			var g *storage.OAuth2DeviceCodeGrant
			e.cleanOAuth2Session(func(client *storage.OAuth2Client, u *storage.User, o *storage.OAuth2Session) {
				var err error
				g, err = e.store.OAuth2Grants().FulfillDeviceCodeGrant(e.ctx, e.clock, mustDeviceCodeGrant(e.t, e.store, e.clock, client),
					mustUserSession(e.t, e.store, e.clock, u))
				require.NoError(e.t, err)
				g, err = e.store.OAuth2Grants().ExchangeDeviceCodeGrant(e.ctx, e.clock, g, o)
				require.NoError(e.t, err)
			})
			require.False(e.t, e.hasDeviceCodeGrant(g.ID))
		}},
	}
}

func tokenReferenceCases() []referenceCase {
	const next = "oauth2_refresh_tokens.oauth2_refresh_tokens_next_oauth2_refresh_token_id_fkey"
	const access = "oauth2_refresh_tokens.oauth2_refresh_tokens_oauth2_access_token_id_fkey"
	return []referenceCase{
		{access, "OAuth2Tokens.CleanupRevokedAccessTokens", func(e *cleanupEnv) {
			requireRefreshTokenUnpaired(e, revokedAccessTokenCleanup, func(tok *storage.OAuth2AccessToken) {
				_, err := e.store.OAuth2Tokens().RevokeAccessToken(e.ctx, e.clock, tok)
				require.NoError(e.t, err)
			})
		}},
		{access, "OAuth2Tokens.CleanupExpiredAccessTokens", func(e *cleanupEnv) {
			requireRefreshTokenUnpaired(e, expiredAccessTokenCleanup, func(tok *storage.OAuth2AccessToken) {
				_, err := e.store.OAuth2Tokens().ExpireAccessToken(e.ctx, e.clock, tok)
				require.NoError(e.t, err)
			})
		}},
		{next, "OAuth2Tokens.CleanupRevokedRefreshTokens", refreshTokenUnlinksPredecessor},
		{next, "OAuth2Tokens.CleanupConsumedRefreshTokens", func(e *cleanupEnv) {
			e.set(-4 * time.Hour)
			s := e.tokenSession()
			chain := []*storage.OAuth2RefreshToken{
				mustRefreshToken(e.t, e.store, e.clock, s, nil),
				mustRefreshToken(e.t, e.store, e.clock, s, nil),
				mustRefreshToken(e.t, e.store, e.clock, s, nil),
			}
			e.set(-3 * time.Hour)
			e.consume(chain[0], chain[1])
			e.set(-2 * time.Hour)
			e.consume(chain[1], chain[2])
			e.set(-time.Hour)
			e.consume(chain[2], nil)

			require.Equal(e.t, 3, e.batch(consumedRefreshTokenCleanup(e.store), storage.Cursor{}, 10).Affected)
			for _, tok := range chain {
				require.False(e.t, e.hasRefreshToken(tok.ID))
			}
		}},
	}
}

func upstreamReferenceCases() []referenceCase {
	const sessions, links = "UpstreamOAuth.CleanupOrphanedSessions", "UpstreamOAuth.CleanupOrphanedLinks"
	// registrationOfOrphanLogin: a registration that remembers an upstream
	// login completed with a link no user has yet; cleanup deletes the login.
	registrationOfOrphanLogin := func(cleanup func(storage.Repository) storage.CleanupFunc) func(e *cleanupEnv) {
		return func(e *cleanupEnv) {
			e.set(-time.Hour)
			p := mustProvider(e.t, e.store, e.clock, storage.LogoutAll)
			l := mustLink(e.t, e.store, e.clock, p, nil)
			up := mustCompletedUpstreamSession(e.t, e.store, e.clock, p, l, storage.IDTokenClaims{Sub: l.Subject})
			reg, err := e.store.Registrations().SetUpstreamSession(e.ctx, mustRegistration(e.t, e.store, e.clock), up)
			require.NoError(e.t, err)
			require.Equal(e.t, up.ID, reg.UpstreamSessionID)

			require.Equal(e.t, 1, e.batch(cleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasUpstreamSession(up.ID))
			require.Zero(e.t, e.getRegistration(reg.ID).UpstreamSessionID)
		}
	}
	return []referenceCase{
		{"user_session_authentications.user_session_authentications_upstream_oauth_authorization__fkey", sessions, func(e *cleanupEnv) {
			// One upstream login authenticates two browser sessions; it is
			// tied to the first, which is cleaned up, which orphans it.
			e.set(-3 * time.Hour)
			u := mustUser(e.t, e.store, e.clock)
			first, up := mustUpstreamLogin(e.t, e.store, e.clock, mustProvider(e.t, e.store, e.clock, storage.LogoutAll), u, storage.IDTokenClaims{Sub: unique("sub")})
			second := mustUserSession(e.t, e.store, e.clock, u)
			_, err := e.store.UserSessions().AuthenticateWithUpstream(e.ctx, e.clock, second, up)
			require.NoError(e.t, err)
			e.set(-2 * time.Hour)
			mustFinishUserSession(e.t, e.store, e.clock, first)
			require.Equal(e.t, 1, e.batch(userSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.Zero(e.t, e.getUpstreamSession(up.ID).UserSessionID)

			require.Equal(e.t, 1, e.batch(orphanedUpstreamSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasUpstreamSession(up.ID))
			auths := e.authentications(second.ID)
			require.Len(e.t, auths, 1)
			require.Zero(e.t, auths[0].UpstreamSessionID)
		}},
		{"user_registrations.user_registrations_upstream_oauth_authorization_session_id_fkey", sessions, registrationOfOrphanLogin(orphanedUpstreamSessionCleanup)},
		{"user_registrations.user_registrations_upstream_oauth_authorization_session_id_fkey", links, registrationOfOrphanLogin(orphanedLinkCleanup)},
		{"upstream_oauth_authorization_sessions.upstream_oauth_authorization_sessions_link_fkey", links, func(e *cleanupEnv) {
			e.set(-time.Hour)
			p := mustProvider(e.t, e.store, e.clock, storage.LogoutAll)
			l := mustLink(e.t, e.store, e.clock, p, nil)
			up := mustCompletedUpstreamSession(e.t, e.store, e.clock, p, l, storage.IDTokenClaims{Sub: l.Subject})

			require.Equal(e.t, 1, e.batch(orphanedLinkCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasLink(l.ID))
			require.False(e.t, e.hasUpstreamSession(up.ID))
		}},
	}
}

func flowReferenceCases() []referenceCase {
	const auths, regs = "Registrations.CleanupEmailAuthentications", "Registrations.CleanupRegistrations"
	const codes = "user_email_authentication_codes.user_email_authentication_cod_user_email_authentication_id_fkey"
	const regAuth = "user_registrations.user_registrations_email_authentication_id_fkey"
	// registrationWithCode: a registration an hour before the horizon, its
	// email authentication and a code; linked names the authentication on
	// the registration.
	registrationWithCode := func(e *cleanupEnv, linked bool) (*storage.Registration, *storage.EmailAuthentication) {
		e.set(-time.Hour)
		reg := mustRegistration(e.t, e.store, e.clock)
		a := mustEmailAuthentication(e.t, e.store, e.clock, nil, reg)
		mustEmailCode(e.t, e.store, e.clock, a)
		if linked {
			var err error
			reg, err = e.store.Registrations().SetEmailAuthentication(e.ctx, reg, a)
			require.NoError(e.t, err)
		}
		return reg, a
	}
	// deletedWithRegistration: the registration cleanup deletes the
	// registration and its email authentication.
	deletedWithRegistration := func(linked bool) func(e *cleanupEnv) {
		return func(e *cleanupEnv) {
			reg, a := registrationWithCode(e, linked)
			require.Equal(e.t, 1, e.batch(registrationCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasRegistration(reg.ID))
			require.False(e.t, e.hasEmailAuthentication(a.ID))
		}
	}
	return []referenceCase{
		{codes, auths, func(e *cleanupEnv) {
			_, a := registrationWithCode(e, false)
			require.Equal(e.t, 1, e.batch(emailAuthenticationCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasEmailAuthentication(a.ID))
		}},
		{codes, regs, deletedWithRegistration(false)},
		{regAuth, auths, func(e *cleanupEnv) {
			reg, a := registrationWithCode(e, true)
			require.Equal(e.t, 1, e.batch(emailAuthenticationCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasEmailAuthentication(a.ID))
			require.Zero(e.t, e.getRegistration(reg.ID).EmailAuthenticationID)
		}},
		{regAuth, regs, deletedWithRegistration(true)},
		{"user_email_authentications.user_email_authentications_user_registration_id_fkey", regs, deletedWithRegistration(false)},
		{"user_recovery_tickets.user_recovery_tickets_user_recovery_session_id_fkey", "Recovery.CleanupSessions", func(e *cleanupEnv) {
			e.set(-time.Hour)
			s := mustRecoverySession(e.t, e.store, e.clock)
			ticket := mustRecoveryTicket(e.t, e.store, e.clock, s, mustEmail(e.t, e.store, e.clock, mustUser(e.t, e.store, e.clock)))

			require.Equal(e.t, 1, e.batch(recoveryCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasRecoverySession(s.ID))
			require.False(e.t, e.hasRecoveryTicket(ticket.Ticket))
		}},
	}
}

// retried makes a retry of job (failed or lost) and runs it on a new worker;
// it returns the retry, running, and its worker.
func (e *cleanupEnv) retried(job *storage.Job) (*storage.Job, *storage.Worker) {
	e.t.Helper()
	next, err := e.store.Queue().RetryJob(e.ctx, e.clock, job, 0)
	require.NoError(e.t, err)
	require.Equal(e.t, next.ID, e.getJob(job.ID).NextAttemptID)
	return e.runScheduled(next)
}

// runScheduled makes the scheduled job available and runs it on a new
// worker; it returns it, running, and its worker.
func (e *cleanupEnv) runScheduled(job *storage.Job) (*storage.Job, *storage.Worker) {
	e.t.Helper()
	e.clock.Advance(time.Second)
	_, err := e.store.Queue().PromoteScheduled(e.ctx, e.clock, 100)
	require.NoError(e.t, err)
	w := mustWorker(e.t, e.store, e.clock)
	jobs, err := e.store.Queue().Reserve(e.ctx, e.clock, w, []string{job.Queue}, 1)
	require.NoError(e.t, err)
	require.Len(e.t, jobs, 1)
	require.Equal(e.t, job.ID, jobs[0].ID)
	return jobs[0], w
}

func queueReferenceCases() []referenceCase {
	const jobs, lost = "Queue.CleanupJobs", "Queue.CleanupLostJobs"
	const schedule = "queue_schedules.queue_schedules_last_scheduled_job_id_fkey"
	const nextAttempt = "queue_jobs.queue_jobs_next_attempt_id_fkey"
	// scheduled runs a job of a recurring schedule, recorded as its last,
	// and ends it with end; cleanup deletes it.
	scheduled := func(cleanup func(storage.Repository) storage.CleanupFunc, end func(e *cleanupEnv, j *storage.Job, w *storage.Worker)) func(e *cleanupEnv) {
		return func(e *cleanupEnv) {
			e.set(-time.Hour)
			name := unique("schedule")
			require.NoError(e.t, e.store.Queue().SetupSchedules(e.ctx, []string{name}))
			j, err := e.store.Queue().ScheduleJob(e.ctx, e.clock, unique("queue"), nil, storage.Now(e.clock), name)
			require.NoError(e.t, err)
			require.NoError(e.t, e.store.Queue().RecordScheduled(e.ctx, e.clock, name, j))
			j, w := e.runScheduled(j)
			end(e, j, w)

			require.Equal(e.t, 1, e.batch(cleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasJob(j.ID))
			all, err := e.store.Queue().ListSchedules(e.ctx)
			require.NoError(e.t, err)
			require.Len(e.t, all, 1)
			require.Equal(e.t, name, all[0].Name)
			require.Zero(e.t, all[0].LastScheduledJobID)
		}
	}
	complete := func(e *cleanupEnv, j *storage.Job, _ *storage.Worker) {
		_, err := e.store.Queue().CompleteJob(e.ctx, e.clock, j)
		require.NoError(e.t, err)
	}
	shutdown := func(e *cleanupEnv, _ *storage.Job, w *storage.Worker) {
		_, err := e.store.Queue().ShutdownWorker(e.ctx, e.clock, w)
		require.NoError(e.t, err)
	}
	return []referenceCase{
		{nextAttempt, jobs, func(e *cleanupEnv) {
			// A lost job (not a candidate) names its completed retry.
			e.set(-time.Hour)
			first := e.lostJob()
			next, _ := e.retried(first)
			complete(e, next, nil)

			require.Equal(e.t, 1, e.batch(jobCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasJob(next.ID))
			require.Zero(e.t, e.getJob(first.ID).NextAttemptID)
		}},
		{nextAttempt, lost, func(e *cleanupEnv) {
			// A failed job (not a candidate) names its lost retry.
			e.set(-time.Hour)
			first := e.failedJob(mustWorker(e.t, e.store, e.clock))
			next, w := e.retried(first)
			shutdown(e, next, w)

			require.Equal(e.t, 1, e.batch(lostJobCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasJob(next.ID))
			require.Zero(e.t, e.getJob(first.ID).NextAttemptID)
		}},
		{schedule, jobs, scheduled(jobCleanup, complete)},
		{schedule, lost, scheduled(lostJobCleanup, shutdown)},
		{"queue_jobs.queue_jobs_started_by_fkey", "Queue.CleanupWorkers", func(e *cleanupEnv) {
			e.set(-time.Hour)
			w := mustWorker(e.t, e.store, e.clock)
			j := mustRunningJob(e.t, e.store, e.clock, w)

			requireUntouched(e, workerCleanup(e.store), func() bool { return e.hasWorker(w.ID) })
			require.Equal(e.t, w.ID, e.getJob(j.ID).StartedBy)
		}},
		{"queue_leader.queue_leader_queue_worker_id_fkey", "Queue.CleanupWorkers", func(e *cleanupEnv) {
			// The leader comes first by ID; the batch skips it and deletes
			// the worker after it.
			e.set(-time.Hour)
			leader := mustWorker(e.t, e.store, e.clock)
			stale := mustWorker(e.t, e.store, e.clock)
			l, err := e.store.Queue().TakeLeadership(e.ctx, e.clock, leader, lease)
			require.NoError(e.t, err)

			b := e.batch(workerCleanup(e.store), storage.Cursor{}, 10)
			requireBatch(e.t, storage.Batch{Affected: 1, Scanned: 2, Cursor: storage.Cursor{ID: stale.ID}}, b)
			require.True(e.t, e.hasWorker(leader.ID))
			require.False(e.t, e.hasWorker(stale.ID))
			got, err := e.store.Queue().LookupLeader(e.ctx)
			require.NoError(e.t, err)
			require.Equal(e.t, l, got)
		}},
	}
}

func personalReferenceCases() []referenceCase {
	return []referenceCase{
		{"personal_access_tokens.personal_access_tokens_personal_session_id_fkey", "PersonalSessions.CleanupRevoked", func(e *cleanupEnv) {
			// A revoked session with a token revoked by the next one, and
			// that one, revoked with the session: both go with it.
			e.set(-3 * time.Hour)
			s := mustUserPersonalSession(e.t, e.store, e.clock)
			first := e.personalToken(s, 0)
			e.set(-2 * time.Hour)
			second := e.personalToken(s, time.Hour)
			e.set(-time.Hour)
			e.revokePersonalSession(s)

			require.Equal(e.t, 1, e.batch(revokedPersonalSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
			require.False(e.t, e.hasPersonalSession(s.ID))
			require.False(e.t, e.hasPersonalToken(first.ID))
			require.False(e.t, e.hasPersonalToken(second.ID))
		}},
	}
}
