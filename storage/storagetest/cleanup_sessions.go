package storagetest

import (
	"context"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

func userSessionCleanup(r storage.Repository) storage.CleanupFunc {
	return r.UserSessions().CleanupFinished
}

func compatSessionCleanup(r storage.Repository) storage.CleanupFunc {
	return r.CompatSessions().CleanupFinished
}

func oauth2SessionCleanup(r storage.Repository) storage.CleanupFunc {
	return r.OAuth2Sessions().CleanupFinished
}

// sessionCleanupCases: the finished-session cleanups and the IP clearings of
// browser, compat and OAuth 2.0 sessions.
func sessionCleanupCases() []cleanupCase {
	cases := []cleanupCase{
		{
			name: "UserSessions.CleanupFinished",
			run:  userSessionCleanup,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when.Add(-time.Hour))
				s := mustUserSession(e.t, e.store, e.clock, mustUser(e.t, e.store, e.clock))
				e.clock.Set(when)
				mustFinishUserSession(e.t, e.store, e.clock, s)
				return func() bool { return e.hasUserSession(s.ID) }
			},
			rules: []cleanupRule{
				{"KeepsUnfinishedSessions", userSessionKeepsUnfinished},
				{"SkipsSessionWithCompatSessionAndMovesPast", userSessionSkipsCompatChild},
				{"SkipsSessionWithOAuth2SessionAndMovesPast", userSessionSkipsOAuth2Child},
				{"SkipsSessionUntilFinishedChildIsCleanedUp", userSessionWaitsForFinishedChild},
				{"SkippedSessionsDoNotHoldUpTheBatch", userSessionSkipsInBatch},
				{"DeletesAuthenticationsAndSSOLogins", userSessionDeletesOwnRows},
				{"UnlinksUpstreamSessionsGrantsAndEmailAuthentications", userSessionUnlinksReferences},
			},
		},
		{
			name: "CompatSessions.CleanupFinished",
			run:  compatSessionCleanup,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when.Add(-time.Hour))
				s := mustCompatSession(e.t, e.store, e.clock, mustUser(e.t, e.store, e.clock), nil)
				e.clock.Set(when)
				mustFinishCompatSession(e.t, e.store, e.clock, s)
				return func() bool { return e.hasCompatSession(s.ID) }
			},
			rules: []cleanupRule{
				{"KeepsUnfinishedSessions", compatSessionKeepsUnfinished},
				{"DeletesTokensAndSSOLoginsKeepsBrowserSession", compatSessionDeletesOwnRows},
			},
		},
		{
			name: "CompatSessions.CleanupAbandonedSSOLogins",
			run: func(r storage.Repository) storage.CleanupFunc {
				return r.CompatSessions().CleanupAbandonedSSOLogins
			},
			order: byULIDAge,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when)
				l := mustSSOLogin(e.t, e.store, e.clock)
				return func() bool { return e.hasSSOLogin(l.LoginToken) }
			},
			rules: []cleanupRule{{"KeepsFulfilledLogins", ssoLoginKeepsFulfilled}},
		},
		{
			name: "OAuth2Sessions.CleanupFinished",
			run:  oauth2SessionCleanup,
			add: func(e *cleanupEnv, when time.Time) func() bool {
				e.clock.Set(when.Add(-time.Hour))
				s := mustOAuth2Session(e.t, e.store, e.clock, mustClient(e.t, e.store, e.clock), mustUser(e.t, e.store, e.clock), nil)
				e.clock.Set(when)
				mustFinishOAuth2Session(e.t, e.store, e.clock, s)
				return func() bool { return e.hasOAuth2Session(s.ID) }
			},
			rules: []cleanupRule{
				{"KeepsUnfinishedSessions", oauth2SessionKeepsUnfinished},
				{"DeletesTokensAndGrants", oauth2SessionDeletesOwnRows},
			},
		},
	}
	// The windowed forms of the finished compat and OAuth 2.0 session
	// cleanups (a window read, then a delete of its IDs) obey the same rules.
	for _, w := range []struct {
		of     string
		name   string
		window func(storage.Repository) (storage.WindowFunc, storage.DeleteFunc)
	}{
		{"CompatSessions.CleanupFinished", "CompatSessions.FinishedWindow+DeleteFinished", func(r storage.Repository) (storage.WindowFunc, storage.DeleteFunc) {
			return r.CompatSessions().FinishedWindow, r.CompatSessions().DeleteFinished
		}},
		{"OAuth2Sessions.CleanupFinished", "OAuth2Sessions.FinishedWindow+DeleteFinished", func(r storage.Repository) (storage.WindowFunc, storage.DeleteFunc) {
			return r.OAuth2Sessions().FinishedWindow, r.OAuth2Sessions().DeleteFinished
		}},
	} {
		for _, c := range cases {
			if c.name == w.of {
				c.name, c.run = w.name, windowed(w.window)
				c.rules = append(c.rules[:len(c.rules):len(c.rules)], cleanupRule{"DeleteLeavesWhatIsNoCandidate", deleteLeavesNonCandidates(c.add, w.window)})
				cases = append(cases, c)
				break
			}
		}
	}
	for _, h := range ipHolders() {
		cases = append(cases, h.cleanupCase())
	}
	return cases
}

// windowed makes a CleanupFunc of a window read and a delete of the IDs it
// read: one batch as the engine's windows run it when a window is one batch.
func windowed(window func(storage.Repository) (storage.WindowFunc, storage.DeleteFunc)) func(storage.Repository) storage.CleanupFunc {
	return func(r storage.Repository) storage.CleanupFunc {
		read, del := window(r)
		return func(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
			w, err := read(ctx, after, before, limit)
			if err != nil {
				return storage.Batch{}, err
			}
			n, err := del(ctx, w.IDs, before)
			return storage.Batch{Affected: n, Scanned: len(w.IDs), Cursor: w.Cursor}, err
		}
	}
}

// deleteLeavesNonCandidates: a window reads without deleting; the delete
// leaves a row that is not (or no longer) a candidate, ignores unknown and
// repeated IDs, and deletes nothing given no IDs.
func deleteLeavesNonCandidates(add func(e *cleanupEnv, when time.Time) func() bool, window func(storage.Repository) (storage.WindowFunc, storage.DeleteFunc)) func(e *cleanupEnv) {
	return func(e *cleanupEnv) {
		old := add(e, e.horizon.Add(-time.Minute))
		atHorizon := add(e, e.horizon)
		read, del := window(e.store)

		w, err := read(e.ctx, storage.Cursor{}, e.horizon, 10)
		require.NoError(e.t, err)
		require.Len(e.t, w.IDs, 1)
		require.True(e.t, old(), "a window deletes nothing")
		w2, err := read(e.ctx, storage.Cursor{}, e.horizon.Add(time.Minute), 10)
		require.NoError(e.t, err)
		require.Len(e.t, w2.IDs, 2)

		n, err := del(e.ctx, nil, e.horizon)
		require.NoError(e.t, err)
		require.Equal(e.t, 0, n, "no IDs")
		// The row at the horizon is no candidate at e.horizon, whatever the
		// window it came from said; an unknown ID is no row.
		n, err = del(e.ctx, []ulid.ULID{w2.IDs[1], ulid.Make()}, e.horizon)
		require.NoError(e.t, err)
		require.Equal(e.t, 0, n)
		require.True(e.t, atHorizon())
		n, err = del(e.ctx, []ulid.ULID{w.IDs[0], w.IDs[0]}, e.horizon)
		require.NoError(e.t, err)
		require.Equal(e.t, 1, n, "a repeated ID is one row")
		require.False(e.t, old())
		n, err = del(e.ctx, w.IDs, e.horizon)
		require.NoError(e.t, err)
		require.Equal(e.t, 0, n, "a row already gone")
		require.True(e.t, atHorizon())
	}
}

// requireSkipped runs fn over a store whose only candidate must be skipped:
// the batch scans it, leaves it, and moves the cursor past it.
func requireSkipped(e *cleanupEnv, fn storage.CleanupFunc, present func() bool) {
	e.t.Helper()
	b := e.batch(fn, storage.Cursor{}, 10)
	require.Equal(e.t, 0, b.Affected)
	require.Equal(e.t, 1, b.Scanned, "a skipped row is still scanned")
	require.True(e.t, present())
	require.False(e.t, b.Cursor.IsZero(), "the cursor moves past a skipped row")
	next := e.batch(fn, b.Cursor, 10)
	require.Equal(e.t, 0, next.Scanned, "the next batch starts after the skipped row")
}

// requireUntouched runs fn and checks that it affected nothing.
func requireUntouched(e *cleanupEnv, fn storage.CleanupFunc, present ...func() bool) {
	e.t.Helper()
	b := e.batch(fn, storage.Cursor{}, 10)
	require.Equal(e.t, 0, b.Affected)
	for i, p := range present {
		require.True(e.t, p(), "row %d", i)
	}
}

func userSessionKeepsUnfinished(e *cleanupEnv) {
	e.set(-48 * time.Hour)
	s := mustUserSession(e.t, e.store, e.clock, mustUser(e.t, e.store, e.clock))
	e.set(-47 * time.Hour)
	require.NoError(e.t, e.store.UserSessions().RecordActivity(e.ctx, e.clock, s.ID, ipA))

	requireUntouched(e, userSessionCleanup(e.store), func() bool { return e.hasUserSession(s.ID) })
}

func userSessionSkipsCompatChild(e *cleanupEnv) {
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	s := mustUserSession(e.t, e.store, e.clock, u)
	c := mustCompatSession(e.t, e.store, e.clock, u, s)
	e.set(-time.Hour)
	mustFinishUserSession(e.t, e.store, e.clock, s)

	requireSkipped(e, userSessionCleanup(e.store), func() bool { return e.hasUserSession(s.ID) })
	require.True(e.t, e.hasCompatSession(c.ID))
}

func userSessionSkipsOAuth2Child(e *cleanupEnv) {
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	s := mustUserSession(e.t, e.store, e.clock, u)
	o := mustOAuth2Session(e.t, e.store, e.clock, mustClient(e.t, e.store, e.clock), u, s)
	e.set(-time.Hour)
	mustFinishUserSession(e.t, e.store, e.clock, s)

	requireSkipped(e, userSessionCleanup(e.store), func() bool { return e.hasUserSession(s.ID) })
	require.True(e.t, e.hasOAuth2Session(o.ID))
}

func userSessionWaitsForFinishedChild(e *cleanupEnv) {
	e.set(-3 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	s := mustUserSession(e.t, e.store, e.clock, u)
	c := mustCompatSession(e.t, e.store, e.clock, u, s)
	e.set(-2 * time.Hour)
	mustFinishCompatSession(e.t, e.store, e.clock, c)
	e.set(-time.Hour)
	mustFinishUserSession(e.t, e.store, e.clock, s)

	requireUntouched(e, userSessionCleanup(e.store), func() bool { return e.hasUserSession(s.ID) })
	require.Equal(e.t, 1, e.batch(compatSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
	require.Equal(e.t, 1, e.batch(userSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
	require.False(e.t, e.hasUserSession(s.ID))
}

func userSessionSkipsInBatch(e *cleanupEnv) {
	// The parent comes first both by finished_at and by ID (created
	// before the other two).
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	parent := mustUserSession(e.t, e.store, e.clock, u)
	mustCompatSession(e.t, e.store, e.clock, u, parent)
	e.set(-3 * time.Minute)
	mustFinishUserSession(e.t, e.store, e.clock, parent)
	s2 := e.finishedUserSession(e.horizon.Add(-2 * time.Minute))
	s3 := e.finishedUserSession(e.horizon.Add(-time.Minute))
	fn := userSessionCleanup(e.store)

	b := e.batch(fn, storage.Cursor{}, 2)
	require.Equal(e.t, 2, b.Scanned)
	require.Equal(e.t, 1, b.Affected)
	require.True(e.t, e.hasUserSession(parent.ID))
	require.False(e.t, e.hasUserSession(s2.ID))
	require.True(e.t, e.hasUserSession(s3.ID))
	b = e.batch(fn, b.Cursor, 2)
	require.Equal(e.t, 1, b.Scanned)
	require.Equal(e.t, 1, b.Affected)
	require.False(e.t, e.hasUserSession(s3.ID))
	require.True(e.t, e.hasUserSession(parent.ID))
}

func userSessionDeletesOwnRows(e *cleanupEnv) {
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	s := mustUserSession(e.t, e.store, e.clock, u)
	_, err := e.store.UserSessions().AuthenticateWithPassword(e.ctx, e.clock, s, mustPassword(e.t, e.store, e.clock, u))
	require.NoError(e.t, err)
	login := mustSSOLogin(e.t, e.store, e.clock)
	c := mustCompatSession(e.t, e.store, e.clock, u, nil)
	_, err = e.store.CompatSessions().FulfillSSOLogin(e.ctx, e.clock, login, c, s)
	require.NoError(e.t, err)
	e.set(-time.Hour)
	mustFinishUserSession(e.t, e.store, e.clock, s)
	require.Len(e.t, e.authentications(s.ID), 1)

	require.Equal(e.t, 1, e.batch(userSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
	require.False(e.t, e.hasUserSession(s.ID))
	require.Empty(e.t, e.authentications(s.ID))
	require.False(e.t, e.hasSSOLogin(login.LoginToken))
	require.True(e.t, e.hasCompatSession(c.ID), "the SSO login's compat session is not the browser session's")
}

func userSessionUnlinksReferences(e *cleanupEnv) {
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	s, up := mustUpstreamLogin(e.t, e.store, e.clock, mustProvider(e.t, e.store, e.clock, storage.LogoutAll), u, storage.IDTokenClaims{Sub: unique("sub")})
	client := mustClient(e.t, e.store, e.clock)
	o := mustOAuth2Session(e.t, e.store, e.clock, client, u, nil)
	g, err := e.store.OAuth2Grants().FulfillAuthorizationGrant(e.ctx, e.clock, mustAuthorizationGrant(e.t, e.store, e.clock, client), o, s)
	require.NoError(e.t, err)
	d, err := e.store.OAuth2Grants().FulfillDeviceCodeGrant(e.ctx, e.clock, mustDeviceCodeGrant(e.t, e.store, e.clock, client), s)
	require.NoError(e.t, err)
	ea := mustEmailAuthentication(e.t, e.store, e.clock, s, nil)
	e.set(-time.Hour)
	mustFinishUserSession(e.t, e.store, e.clock, s)
	require.Equal(e.t, s.ID, up.UserSessionID)
	require.Equal(e.t, s.ID, g.UserSessionID)
	require.Equal(e.t, s.ID, d.UserSessionID)
	require.Equal(e.t, s.ID, ea.UserSessionID)

	require.Equal(e.t, 1, e.batch(userSessionCleanup(e.store), storage.Cursor{}, 10).Affected)
	require.False(e.t, e.hasUserSession(s.ID))
	require.Zero(e.t, e.getUpstreamSession(up.ID).UserSessionID)
	gotG, err := e.store.OAuth2Grants().LookupAuthorizationGrant(e.ctx, g.ID)
	require.NoError(e.t, err)
	require.Zero(e.t, gotG.UserSessionID)
	gotD, err := e.store.OAuth2Grants().LookupDeviceCodeGrant(e.ctx, d.ID)
	require.NoError(e.t, err)
	require.Zero(e.t, gotD.UserSessionID)
	gotEA, err := e.store.Registrations().LookupEmailAuthentication(e.ctx, ea.ID)
	require.NoError(e.t, err)
	require.Zero(e.t, gotEA.UserSessionID)
}

func compatSessionKeepsUnfinished(e *cleanupEnv) {
	e.set(-48 * time.Hour)
	s := mustCompatSession(e.t, e.store, e.clock, mustUser(e.t, e.store, e.clock), nil)

	requireUntouched(e, e.cleanup(e.store), func() bool { return e.hasCompatSession(s.ID) })
}

func compatSessionDeletesOwnRows(e *cleanupEnv) {
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	browser := mustUserSession(e.t, e.store, e.clock, u)
	c := mustCompatSession(e.t, e.store, e.clock, u, browser)
	access := mustCompatAccessToken(e.t, e.store, e.clock, c, 0)
	refresh := mustCompatRefreshToken(e.t, e.store, e.clock, c, access)
	login := mustSSOLogin(e.t, e.store, e.clock)
	_, err := e.store.CompatSessions().FulfillSSOLogin(e.ctx, e.clock, login, c, browser)
	require.NoError(e.t, err)
	live := mustCompatSession(e.t, e.store, e.clock, u, browser)
	liveAccess := mustCompatAccessToken(e.t, e.store, e.clock, live, 0)
	e.set(-time.Hour)
	mustFinishCompatSession(e.t, e.store, e.clock, c)

	require.Equal(e.t, 1, e.batch(e.cleanup(e.store), storage.Cursor{}, 10).Affected)
	require.False(e.t, e.hasCompatSession(c.ID))
	require.False(e.t, e.hasCompatAccessToken(access.Token))
	require.False(e.t, e.hasCompatRefreshToken(refresh.Token))
	require.False(e.t, e.hasSSOLogin(login.LoginToken))
	require.True(e.t, e.hasUserSession(browser.ID))
	require.True(e.t, e.hasCompatSession(live.ID))
	require.True(e.t, e.hasCompatAccessToken(liveAccess.Token))
}

func ssoLoginKeepsFulfilled(e *cleanupEnv) {
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	browser := mustUserSession(e.t, e.store, e.clock, u)
	fulfilled := mustSSOLogin(e.t, e.store, e.clock)
	_, err := e.store.CompatSessions().FulfillSSOLogin(e.ctx, e.clock, fulfilled, mustCompatSession(e.t, e.store, e.clock, u, nil), browser)
	require.NoError(e.t, err)
	exchanged := mustSSOLogin(e.t, e.store, e.clock)
	exchanged, err = e.store.CompatSessions().FulfillSSOLogin(e.ctx, e.clock, exchanged, mustCompatSession(e.t, e.store, e.clock, u, nil), browser)
	require.NoError(e.t, err)
	_, err = e.store.CompatSessions().ExchangeSSOLogin(e.ctx, e.clock, exchanged)
	require.NoError(e.t, err)

	requireUntouched(e, e.store.CompatSessions().CleanupAbandonedSSOLogins,
		func() bool { return e.hasSSOLogin(fulfilled.LoginToken) },
		func() bool { return e.hasSSOLogin(exchanged.LoginToken) })
}

func oauth2SessionKeepsUnfinished(e *cleanupEnv) {
	e.set(-48 * time.Hour)
	s := mustOAuth2Session(e.t, e.store, e.clock, mustClient(e.t, e.store, e.clock), nil, nil)

	requireUntouched(e, e.cleanup(e.store), func() bool { return e.hasOAuth2Session(s.ID) })
}

func oauth2SessionDeletesOwnRows(e *cleanupEnv) {
	e.set(-2 * time.Hour)
	u := mustUser(e.t, e.store, e.clock)
	browser := mustUserSession(e.t, e.store, e.clock, u)
	client := mustClient(e.t, e.store, e.clock)
	o := mustOAuth2Session(e.t, e.store, e.clock, client, u, nil)
	access := mustAccessToken(e.t, e.store, e.clock, o, time.Hour)
	refresh := mustRefreshToken(e.t, e.store, e.clock, o, access)
	g, err := e.store.OAuth2Grants().FulfillAuthorizationGrant(e.ctx, e.clock, mustAuthorizationGrant(e.t, e.store, e.clock, client), o, browser)
	require.NoError(e.t, err)
	d, err := e.store.OAuth2Grants().FulfillDeviceCodeGrant(e.ctx, e.clock, mustDeviceCodeGrant(e.t, e.store, e.clock, client), browser)
	require.NoError(e.t, err)
	_, err = e.store.OAuth2Grants().ExchangeDeviceCodeGrant(e.ctx, e.clock, d, o)
	require.NoError(e.t, err)
	live := mustOAuth2Session(e.t, e.store, e.clock, client, u, nil)
	liveAccess := mustAccessToken(e.t, e.store, e.clock, live, 0)
	e.set(-time.Hour)
	mustFinishOAuth2Session(e.t, e.store, e.clock, o)

	require.Equal(e.t, 1, e.batch(e.cleanup(e.store), storage.Cursor{}, 10).Affected)
	require.False(e.t, e.hasOAuth2Session(o.ID))
	require.False(e.t, e.hasAccessToken(access.ID))
	require.False(e.t, e.hasRefreshToken(refresh.ID))
	require.False(e.t, e.hasAuthorizationGrant(g.ID))
	require.False(e.t, e.hasDeviceCodeGrant(d.ID))
	require.True(e.t, e.hasOAuth2Session(live.ID))
	require.True(e.t, e.hasAccessToken(liveAccess.ID))
	require.True(e.t, e.hasUserSession(browser.ID))
	_, err = e.store.OAuth2Clients().Lookup(e.ctx, client.ID)
	require.NoError(e.t, err)
}

// ipHolder is a kind of session whose last active IP a cleanup clears.
type ipHolder struct {
	name  string
	clear func(r storage.Repository) storage.CleanupFunc
	count func(r storage.Repository) storage.CountFunc
	// start starts a session at the clock's time.
	start  func(e *cleanupEnv) ulid.ULID
	record func(r storage.Repository) func(context.Context, storage.Clock, ulid.ULID, netip.Addr) error
	// activity re-reads the session's last active time and IP.
	activity func(e *cleanupEnv, id ulid.ULID) (*time.Time, netip.Addr)
}

func ipHolders() []ipHolder {
	return []ipHolder{ipHolderOf(userSessionCase), ipHolderOf(compatSessionCase), ipHolderOf(oauth2SessionCase), personalIPHolder()}
}

// ipHolderOf is the ipHolder of a kind of session.
func ipHolderOf[T any](c sessionCase[T]) ipHolder {
	return ipHolder{
		name:  c.name,
		clear: func(r storage.Repository) storage.CleanupFunc { return c.repo(r).ClearInactiveIPs },
		count: func(r storage.Repository) storage.CountFunc { return c.repo(r).CountStaleIPs },
		start: func(e *cleanupEnv) ulid.ULID {
			return c.fields(c.start(e.t, bundle{ctx: e.ctx, store: e.store, clock: e.clock})).id
		},
		record: func(r storage.Repository) func(context.Context, storage.Clock, ulid.ULID, netip.Addr) error {
			return c.repo(r).RecordActivity
		},
		activity: func(e *cleanupEnv, id ulid.ULID) (*time.Time, netip.Addr) {
			s, err := c.repo(e.store).Lookup(e.ctx, id)
			require.NoError(e.t, err)
			f := c.fields(s)
			return *f.lastActiveAt, *f.lastActiveIP
		},
	}
}

// active starts a session an hour before when and records activity at when
// from ip; it returns the session.
func (h ipHolder) active(e *cleanupEnv, when time.Time, ip netip.Addr) ulid.ULID {
	e.t.Helper()
	e.clock.Set(when.Add(-time.Hour))
	id := h.start(e)
	e.clock.Set(when)
	require.NoError(e.t, h.record(e.store)(e.ctx, e.clock, id, ip))
	return id
}

func (h ipHolder) cleanupCase() cleanupCase {
	return cleanupCase{
		name: h.name + ".ClearInactiveIPs",
		run:  h.clear,
		add: func(e *cleanupEnv, when time.Time) func() bool {
			id := h.active(e, when, ipA)
			return func() bool {
				_, ip := h.activity(e, id)
				return ip.IsValid()
			}
		},
		rules: []cleanupRule{
			{"KeepsSessionAndLastActiveTime", h.keepsSession},
			{"IgnoresSessionsWithoutIP", h.ignoresWithoutIP},
		},
	}
}

func (h ipHolder) countCase() countCase {
	return countCase{
		name:  h.name + ".CountStaleIPs",
		count: h.count,
		clear: h.cleanupCase(),
		addWithoutIP: func(e *cleanupEnv, when time.Time) {
			h.active(e, when, netip.Addr{})
		},
	}
}

func (h ipHolder) keepsSession(e *cleanupEnv) {
	id := h.active(e, e.horizon.Add(-time.Hour), ipA)
	lastActive := storage.Now(e.clock)

	require.Equal(e.t, 1, e.batch(h.clear(e.store), storage.Cursor{}, 10).Affected)
	gotTime, gotIP := h.activity(e, id)
	require.False(e.t, gotIP.IsValid())
	require.NotNil(e.t, gotTime)
	require.True(e.t, lastActive.Equal(*gotTime), "last active time %s, want %s", gotTime, lastActive)
}

func (h ipHolder) ignoresWithoutIP(e *cleanupEnv) {
	e.set(-3 * time.Hour)
	h.start(e)
	h.active(e, e.horizon.Add(-time.Hour), netip.Addr{})

	require.Equal(e.t, 0, e.batch(h.clear(e.store), storage.Cursor{}, 10).Affected)
	n, err := h.count(e.store)(e.ctx, e.horizon)
	require.NoError(e.t, err)
	require.Equal(e.t, 0, n)
}

func ipCountCases() []countCase {
	var cases []countCase
	for _, h := range ipHolders() {
		cases = append(cases, h.countCase())
	}
	return cases
}
