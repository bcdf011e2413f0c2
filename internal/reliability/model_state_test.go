package reliability

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/masstore/masstore/storage"
)

// modelSnapshot is one side's observable state: per table, the rows still
// there, by logical index, with their key fields; references to other rows
// are logical indexes too (-1: none). Times are UTC RFC 3339 ("": none).
type modelSnapshot struct {
	Users     map[int]modelUserRow
	Browsers  map[int]modelBrowserRow
	Compats   map[int]modelCompatRow
	CompatATs map[int]modelCompatATRow
	CompatRTs map[int]modelCompatRTRow
	Clients   map[int]modelClientRow
	OAuths    map[int]modelOAuthRow
	OAuthATs  map[int]modelOAuthATRow
	OAuthRTs  map[int]modelOAuthRTRow
	Providers map[int]storage.BackchannelLogoutMode
	Links     map[int]modelLinkRow
	Upstreams map[int]modelUpstreamRow
	Personals map[int]modelPersonalRow
	PATs      map[int]modelPATRow
	// Owned lists, by owner ("user 2", "client 0"), the personal sessions
	// ListByOwner returns, when there are any.
	Owned map[string]string
	// Policies are the policy data versions, by creation time (ULID);
	// LatestPolicy is the one in force (-1: none), LatestData its data
	// (see modelJSON).
	Policies     map[int]string
	LatestPolicy int
	LatestData   string
}

type (
	modelUserRow struct {
		Name, Created, Locked, Deactivated string
	}
	modelClientRow struct {
		Name   string
		Static bool
	}
	modelBrowserRow struct {
		User                                  int
		Created, Finished, LastActive, LastIP string
		// Auths lists the upstream logins of its authentications, sorted.
		Auths string
	}
	modelCompatRow struct {
		User, Browser                                 int
		Device, Created, Finished, LastActive, LastIP string
	}
	modelCompatATRow struct {
		Session          int
		Created, Expires string
	}
	modelCompatRTRow struct {
		Session, Access   int
		Created, Consumed string
	}
	modelOAuthRow struct {
		Client, User, Browser                 int
		Created, Finished, LastActive, LastIP string
	}
	modelOAuthATRow struct {
		Session                   int
		Created, Expires, Revoked string
	}
	modelOAuthRTRow struct {
		Session, Access, Next      int
		Created, Consumed, Revoked string
	}
	modelLinkRow struct {
		Provider, User   int
		Subject, Created string
	}
	modelUpstreamRow struct {
		Provider, Link, Browser                int
		Sub, Sid, Created, Completed, Consumed string
	}
)

func modelTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func modelAt(t *time.Time) string {
	if t == nil {
		return ""
	}
	return modelTime(*t)
}

func modelIP(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}

// modelReader reads one side's rows, from several goroutines at once (the
// reads wait on PostgreSQL), collecting the errors for the test to report.
type modelReader struct {
	m    *model
	side int
	mu   sync.Mutex
	errs []error
}

func (r *modelReader) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

// ref returns the logical index of id, -1 for none.
func (r *modelReader) ref(kind string, id ulid.ULID) int {
	idx, err := r.m.ref(r.side, kind, id)
	if err != nil {
		r.fail("%v", err)
	}
	return idx
}

// modelRead reads one row: false when the store says ErrNotFound. Any other
// error is collected.
func modelRead[T any](r *modelReader, what string, idx int, get func() (*T, error)) (*T, bool) {
	v, err := get()
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false
	}
	if err != nil || v == nil {
		r.fail("read %s %d: %v", what, idx, err)
		return nil, false
	}
	return v, true
}

// modelFoundByValue checks that a token is found by its value exactly when
// it is found by ID.
func modelFoundByValue[T any](r *modelReader, what string, idx int, byID bool, get func() (*T, error)) {
	if _, byValue := modelRead(r, what+" by value", idx, get); byValue != byID {
		r.fail("%s %d: found by ID %v, by value %v", what, idx, byID, byValue)
	}
}

// snapshot reads side's state back through the repositories, for every
// entity the sequence ever created, and refreshes the model's copies.
func (m *model) snapshot(t *rapid.T, side int) *modelSnapshot {
	s := &modelSnapshot{
		Users: map[int]modelUserRow{}, Browsers: map[int]modelBrowserRow{}, Compats: map[int]modelCompatRow{},
		CompatATs: map[int]modelCompatATRow{}, CompatRTs: map[int]modelCompatRTRow{}, Clients: map[int]modelClientRow{},
		OAuths: map[int]modelOAuthRow{}, OAuthATs: map[int]modelOAuthATRow{}, OAuthRTs: map[int]modelOAuthRTRow{},
		Providers: map[int]storage.BackchannelLogoutMode{}, Links: map[int]modelLinkRow{}, Upstreams: map[int]modelUpstreamRow{},
		Personals: map[int]modelPersonalRow{}, PATs: map[int]modelPATRow{}, Owned: map[string]string{}, Policies: map[int]string{},
	}
	rd := &modelReader{m: m, side: side}
	var wg sync.WaitGroup
	for _, read := range []func(*modelReader, *modelSnapshot){
		m.readUsers, m.readBrowsers, m.readCompats, m.readCompatTokens, m.readOAuths,
		m.readOAuthAccessTokens, m.readOAuthRefreshTokens, m.readUpstream,
		m.readPersonals(m.personalOwners(side)), m.readPersonalTokens, m.readPolicyData,
	} {
		wg.Go(func() { read(rd, s) })
	}
	wg.Wait()
	if len(rd.errs) > 0 {
		t.Fatalf("%s: %v", modelSides[side], errors.Join(rd.errs...))
	}
	return s
}

func (m *model) readUsers(rd *modelReader, s *modelSnapshot) {
	r, side := m.stores[rd.side], rd.side
	for i, e := range m.users {
		if v, ok := modelRead(rd, "user", i, func() (*storage.User, error) { return r.Users().Lookup(m.ctx, e.obj[side].ID) }); ok {
			e.obj[side] = v
			s.Users[i] = modelUserRow{v.Username, modelTime(v.CreatedAt), modelAt(v.LockedAt), modelAt(v.DeactivatedAt)}
		}
	}
}

func (m *model) readBrowsers(rd *modelReader, s *modelSnapshot) {
	r, side := m.stores[rd.side], rd.side
	for i, e := range m.browsers {
		v, ok := modelRead(rd, "browser session", i, func() (*storage.UserSession, error) { return r.UserSessions().Lookup(m.ctx, e.obj[side].ID) })
		if !ok {
			continue
		}
		e.obj[side] = v
		auths, err := r.UserSessions().ListAuthentications(m.ctx, v.ID)
		if err != nil {
			rd.fail("list authentications of browser session %d: %v", i, err)
		}
		var ups []string
		for _, a := range auths {
			ups = append(ups, strconv.Itoa(rd.ref("upstream login", a.UpstreamSessionID)))
		}
		slices.Sort(ups)
		s.Browsers[i] = modelBrowserRow{rd.ref("user", v.UserID), modelTime(v.CreatedAt), modelAt(v.FinishedAt), modelAt(v.LastActiveAt), modelIP(v.LastActiveIP), strings.Join(ups, ",")}
	}
}

func (m *model) readCompats(rd *modelReader, s *modelSnapshot) {
	r, side := m.stores[rd.side], rd.side
	for i, e := range m.compats {
		if v, ok := modelRead(rd, "compat session", i, func() (*storage.CompatSession, error) { return r.CompatSessions().Lookup(m.ctx, e.obj[side].ID) }); ok {
			e.obj[side] = v
			s.Compats[i] = modelCompatRow{rd.ref("user", v.UserID), rd.ref("browser", v.UserSessionID), v.DeviceID, modelTime(v.CreatedAt), modelAt(v.FinishedAt), modelAt(v.LastActiveAt), modelIP(v.LastActiveIP)}
		}
	}
}

// readCompatTokens reads compat tokens by value: the repository has no
// lookup by ID for them.
func (m *model) readCompatTokens(rd *modelReader, s *modelSnapshot) {
	r, side := m.stores[rd.side], rd.side
	for i, e := range m.compatATs {
		if v, ok := modelRead(rd, "compat access token", i, func() (*storage.CompatAccessToken, error) { return r.CompatSessions().FindAccessToken(m.ctx, e.token) }); ok {
			if v.ID != e.obj[side].ID {
				rd.fail("compat access token %d: its value finds %s", i, v.ID)
			}
			e.obj[side] = v
			s.CompatATs[i] = modelCompatATRow{rd.ref("compat", v.SessionID), modelTime(v.CreatedAt), modelAt(v.ExpiresAt)}
		}
	}
	for i, e := range m.compatRTs {
		if v, ok := modelRead(rd, "compat refresh token", i, func() (*storage.CompatRefreshToken, error) {
			return r.CompatSessions().FindRefreshToken(m.ctx, e.token)
		}); ok {
			if v.ID != e.obj[side].ID {
				rd.fail("compat refresh token %d: its value finds %s", i, v.ID)
			}
			e.obj[side] = v
			s.CompatRTs[i] = modelCompatRTRow{rd.ref("compat", v.SessionID), rd.ref("compat access token", v.AccessTokenID), modelTime(v.CreatedAt), modelAt(v.ConsumedAt)}
		}
	}
}

func (m *model) readOAuths(rd *modelReader, s *modelSnapshot) {
	r, side := m.stores[rd.side], rd.side
	for i, e := range m.clients {
		if v, ok := modelRead(rd, "client", i, func() (*storage.OAuth2Client, error) { return r.OAuth2Clients().Lookup(m.ctx, e.obj[side].ID) }); ok {
			s.Clients[i] = modelClientRow{v.Name, v.IsStatic}
		}
	}
	for i, e := range m.oauths {
		if v, ok := modelRead(rd, "OAuth 2.0 session", i, func() (*storage.OAuth2Session, error) { return r.OAuth2Sessions().Lookup(m.ctx, e.obj[side].ID) }); ok {
			e.obj[side] = v
			s.OAuths[i] = modelOAuthRow{rd.ref("client", v.ClientID), rd.ref("user", v.UserID), rd.ref("browser", v.UserSessionID), modelTime(v.CreatedAt), modelAt(v.FinishedAt), modelAt(v.LastActiveAt), modelIP(v.LastActiveIP)}
		}
	}
}

func (m *model) readOAuthAccessTokens(rd *modelReader, s *modelSnapshot) {
	r, side := m.stores[rd.side], rd.side
	for i, e := range m.oauthATs {
		v, ok := modelRead(rd, "OAuth 2.0 access token", i, func() (*storage.OAuth2AccessToken, error) {
			return r.OAuth2Tokens().LookupAccessToken(m.ctx, e.obj[side].ID)
		})
		if ok {
			e.obj[side] = v
			s.OAuthATs[i] = modelOAuthATRow{rd.ref("oauth2 session", v.SessionID), modelTime(v.CreatedAt), modelAt(v.ExpiresAt), modelAt(v.RevokedAt)}
		}
		modelFoundByValue(rd, "OAuth 2.0 access token", i, ok, func() (*storage.OAuth2AccessToken, error) {
			return r.OAuth2Tokens().FindAccessToken(m.ctx, e.obj[side].Token)
		})
	}
}

func (m *model) readOAuthRefreshTokens(rd *modelReader, s *modelSnapshot) {
	r, side := m.stores[rd.side], rd.side
	for i, e := range m.oauthRTs {
		v, ok := modelRead(rd, "OAuth 2.0 refresh token", i, func() (*storage.OAuth2RefreshToken, error) {
			return r.OAuth2Tokens().LookupRefreshToken(m.ctx, e.obj[side].ID)
		})
		if ok {
			e.obj[side] = v
			s.OAuthRTs[i] = modelOAuthRTRow{rd.ref("oauth2 session", v.SessionID), rd.ref("oauth2 access token", v.AccessTokenID), rd.ref("oauth2 refresh token", v.NextID), modelTime(v.CreatedAt), modelAt(v.ConsumedAt), modelAt(v.RevokedAt)}
		}
		modelFoundByValue(rd, "OAuth 2.0 refresh token", i, ok, func() (*storage.OAuth2RefreshToken, error) {
			return r.OAuth2Tokens().FindRefreshToken(m.ctx, e.obj[side].Token)
		})
	}
}

func (m *model) readUpstream(rd *modelReader, s *modelSnapshot) {
	r, side := m.stores[rd.side], rd.side
	for i, e := range m.providers {
		if v, ok := modelRead(rd, "provider", i, func() (*storage.UpstreamOAuthProvider, error) {
			return r.UpstreamOAuth().LookupProvider(m.ctx, e.obj[side].ID)
		}); ok {
			s.Providers[i] = v.OnBackchannelLogout
		}
	}
	for i, e := range m.links {
		if v, ok := modelRead(rd, "link", i, func() (*storage.UpstreamOAuthLink, error) { return r.UpstreamOAuth().LookupLink(m.ctx, e.obj[side].ID) }); ok {
			e.obj[side] = v
			s.Links[i] = modelLinkRow{rd.ref("provider", v.ProviderID), rd.ref("user", v.UserID), v.Subject, modelTime(v.CreatedAt)}
		}
	}
	for i, e := range m.upstreams {
		if v, ok := modelRead(rd, "upstream login", i, func() (*storage.UpstreamOAuthSession, error) {
			return r.UpstreamOAuth().LookupSession(m.ctx, e.obj[side].ID)
		}); ok {
			e.obj[side] = v
			row := modelUpstreamRow{Provider: rd.ref("provider", v.ProviderID), Link: rd.ref("link", v.LinkID), Browser: rd.ref("browser", v.UserSessionID),
				Created: modelTime(v.CreatedAt), Completed: modelAt(v.CompletedAt), Consumed: modelAt(v.ConsumedAt)}
			if v.Claims != nil {
				row.Sub, row.Sid = v.Claims.Sub, v.Claims.Sid
			}
			s.Upstreams[i] = row
		}
	}
}

// counts is how many entities of each kind the model has.
func (m *model) counts() map[string]int {
	return map[string]int{
		"users": len(m.users), "browsers": len(m.browsers), "compats": len(m.compats), "compatATs": len(m.compatATs),
		"compatRTs": len(m.compatRTs), "oauths": len(m.oauths), "oauthATs": len(m.oauthATs), "oauthRTs": len(m.oauthRTs),
		"links": len(m.links), "upstreams": len(m.upstreams),
		"personals": len(m.personals), "pats": len(m.pats), "policies": len(m.policies),
	}
}

// check runs after every step: the clocks agree, both sides show the same
// state, the invariants hold on each, and the changes the step made are
// those of the jobs it ran (none if it ran none).
func (m *model) check(t *rapid.T) {
	require.True(t, m.clocks[modelMemory].Now().Equal(m.clocks[modelPostgres].Now()), "the clocks drifted apart")
	var snaps [2]*modelSnapshot
	for side := range 2 {
		snaps[side] = m.snapshot(t, side)
	}
	require.Equal(t, snaps[modelMemory], snaps[modelPostgres], "observable state (memory, postgres)")
	for side := range 2 {
		m.invariants(t, side, snaps[side])
		if m.unchanged {
			require.Equal(t, m.prev[side], snaps[side], "%s: a dry run changed the state", modelSides[side])
		}
		switch prev := m.prev[side]; {
		case prev == nil:
		case len(m.ran) > 0:
			m.oracle(t, side, prev, snaps[side])
		default:
			modelNothingDeleted(t, modelSides[side], prev, snaps[side])
		}
	}
	m.unchanged = false
	m.ran = nil
	m.prev = snaps
	m.prevCounts = m.counts()
}

// invariants checks, on one side, what must hold whatever the backend:
// no live session lost; children reach their browser session; upstream
// logins keep pointing at the browser session they logged into; no token
// without its session; what holds of personal sessions and their tokens
// (personalInvariants) and of policy data (policyInvariants); no stale IP
// behind an IP job's horizon; deleted rows stay deleted and final states
// stay final.
func (m *model) invariants(t *rapid.T, side int, now *modelSnapshot) {
	name := modelSides[side]
	prev := m.prev[side]
	if prev != nil {
		require.Len(t, now.Users, len(m.users), "%s: users are never deleted", name)
		modelLive(t, name, "browser session", prev.Browsers, now.Browsers, func(r modelBrowserRow) string { return r.Finished })
		modelLive(t, name, "compat session", prev.Compats, now.Compats, func(r modelCompatRow) string { return r.Finished })
		modelLive(t, name, "OAuth 2.0 session", prev.OAuths, now.OAuths, func(r modelOAuthRow) string { return r.Finished })
		c := m.prevCounts
		modelFinal(t, name, "user", c["users"], prev.Users, now.Users, func(r modelUserRow) []string { return []string{r.Deactivated, r.Locked} })
		modelFinal(t, name, "browser session", c["browsers"], prev.Browsers, now.Browsers, func(r modelBrowserRow) []string { return []string{r.Finished} })
		modelFinal(t, name, "compat session", c["compats"], prev.Compats, now.Compats, func(r modelCompatRow) []string { return []string{r.Finished} })
		modelFinal(t, name, "OAuth 2.0 session", c["oauths"], prev.OAuths, now.OAuths, func(r modelOAuthRow) []string { return []string{r.Finished} })
		modelFinal(t, name, "compat access token", c["compatATs"], prev.CompatATs, now.CompatATs, func(r modelCompatATRow) []string { return nil })
		modelFinal(t, name, "compat refresh token", c["compatRTs"], prev.CompatRTs, now.CompatRTs, func(r modelCompatRTRow) []string { return []string{r.Consumed} })
		modelFinal(t, name, "OAuth 2.0 access token", c["oauthATs"], prev.OAuthATs, now.OAuthATs, func(r modelOAuthATRow) []string { return []string{r.Revoked} })
		modelFinal(t, name, "OAuth 2.0 refresh token", c["oauthRTs"], prev.OAuthRTs, now.OAuthRTs, func(r modelOAuthRTRow) []string { return []string{r.Consumed, r.Revoked} })
		modelFinal(t, name, "link", c["links"], prev.Links, now.Links, func(r modelLinkRow) []string { return nil })
		modelFinal(t, name, "upstream login", c["upstreams"], prev.Upstreams, now.Upstreams, func(r modelUpstreamRow) []string { return []string{r.Completed, r.Consumed} })
		modelLive(t, name, "personal session", prev.Personals, now.Personals, func(r modelPersonalRow) string { return r.Revoked })
		modelFinal(t, name, "personal session", c["personals"], prev.Personals, now.Personals, func(r modelPersonalRow) []string { return []string{r.Revoked} })
		modelFinal(t, name, "personal access token", c["pats"], prev.PATs, now.PATs, func(r modelPATRow) []string { return []string{r.Revoked} })
		modelFinal(t, name, "policy data", c["policies"], prev.Policies, now.Policies, func(string) []string { return nil })
	}
	for i, r := range now.Clients {
		require.Equal(t, m.clients[i].static, r.Static, "%s: client %d: static", name, i)
	}
	// A compat or OAuth 2.0 session still points at the browser session it
	// came from, and that session is still there: the user-session job skips
	// sessions with children, so a back-channel logout reaches them.
	for i, r := range now.Compats {
		m.requireParent(t, name, "compat session", i, r.Finished, m.compats[i].browser, r.Browser, now.Browsers)
	}
	for i, r := range now.OAuths {
		m.requireParent(t, name, "OAuth 2.0 session", i, r.Finished, m.oauths[i].browser, r.Browser, now.Browsers)
	}
	// An upstream login whose browser session still exists still points at it.
	for i, u := range m.upstreams {
		row, ok := now.Upstreams[i]
		if u.browser >= 0 {
			if _, alive := now.Browsers[u.browser]; alive {
				require.True(t, ok, "%s: upstream login %d deleted while its browser session %d exists", name, i, u.browser)
				require.Equal(t, u.browser, row.Browser, "%s: upstream login %d no longer points at its browser session", name, i)
			}
		}
		if ok && row.Browser >= 0 {
			_, alive := now.Browsers[row.Browser]
			require.True(t, alive, "%s: upstream login %d points at deleted browser session %d", name, i, row.Browser)
		}
		if ok && row.Link >= 0 {
			_, alive := now.Links[row.Link]
			require.True(t, alive, "%s: upstream login %d points at deleted link %d", name, i, row.Link)
		}
	}
	// No token without its session, and tokens keep their session.
	for i, r := range now.CompatATs {
		modelRequireOwner(t, name, "compat access token", i, m.compatATs[i].session, r.Session, now.Compats)
	}
	for i, r := range now.CompatRTs {
		modelRequireOwner(t, name, "compat refresh token", i, m.compatRTs[i].session, r.Session, now.Compats)
		modelRequireRef(t, name, "compat refresh token", i, "access token", m.compatRTs[i].access, r.Access, now.CompatATs)
	}
	for i, r := range now.OAuthATs {
		modelRequireOwner(t, name, "OAuth 2.0 access token", i, m.oauthATs[i].session, r.Session, now.OAuths)
	}
	for i, r := range now.OAuthRTs {
		e := m.oauthRTs[i]
		modelRequireOwner(t, name, "OAuth 2.0 refresh token", i, e.session, r.Session, now.OAuths)
		modelRequireRef(t, name, "OAuth 2.0 refresh token", i, "access token", e.access, r.Access, now.OAuthATs)
		modelRequireRef(t, name, "OAuth 2.0 refresh token", i, "successor", e.next, r.Next, now.OAuthRTs)
	}
	m.personalInvariants(t, side, now)
	m.policyInvariants(t, side, now)
	m.requireNoStaleIPs(t, side)
}

// requireParent checks a child session against the browser session it was
// created under (want, -1 for none).
func (m *model) requireParent(t *rapid.T, side, kind string, i int, finished string, want, got int, browsers map[int]modelBrowserRow) {
	require.Equal(t, want, got, "%s: %s %d no longer points at its browser session", side, kind, i)
	if want < 0 {
		return
	}
	if _, ok := browsers[want]; !ok {
		if finished == "" {
			t.Fatalf("%s: live %s %d lost its browser session %d: a back-channel logout can no longer reach it", side, kind, i, want)
		}
		t.Fatalf("%s: %s %d points at deleted browser session %d", side, kind, i, want)
	}
}

// modelRequireOwner checks that a token's session is the one it was created
// in, and is still there.
func modelRequireOwner[R any](t *rapid.T, side, kind string, i, want, got int, sessions map[int]R) {
	require.Equal(t, want, got, "%s: %s %d changed session", side, kind, i)
	if _, ok := sessions[got]; !ok {
		t.Fatalf("%s: %s %d outlived its session %d", side, kind, i, got)
	}
}

// modelRequireRef checks an optional reference: it names what it was given
// (want) or nothing once that is deleted, and never a deleted row.
func modelRequireRef[R any](t *rapid.T, side, kind string, i int, field string, want, got int, rows map[int]R) {
	if got < 0 {
		if want >= 0 {
			_, alive := rows[want]
			require.False(t, alive, "%s: %s %d lost its %s %d, which still exists", side, kind, i, field, want)
		}
		return
	}
	require.Equal(t, want, got, "%s: %s %d names another %s", side, kind, i, field)
	_, alive := rows[got]
	require.True(t, alive, "%s: %s %d names deleted %s %d", side, kind, i, field, got)
}

// modelLive checks that every session not finished at the last check is
// still there: no job deletes a live session.
func modelLive[R any](t *rapid.T, side, kind string, prev, now map[int]R, finished func(R) string) {
	for i, p := range prev {
		if _, ok := now[i]; !ok && finished(p) == "" {
			t.Fatalf("%s: live %s %d was deleted", side, kind, i)
		}
	}
}

// modelFinal checks rows between two checks: those known at the last check
// (index below known) and absent then are still absent, and a final state
// (a finish, consumption or revocation time), once set, never changes.
func modelFinal[R any](t *rapid.T, side, kind string, known int, prev, now map[int]R, final func(R) []string) {
	for i := range known {
		p, was := prev[i]
		n, is := now[i]
		if !was {
			require.False(t, is, "%s: deleted %s %d came back", side, kind, i)
			continue
		}
		if !is {
			continue
		}
		for f, v := range final(p) {
			if v != "" {
				require.Equal(t, v, final(n)[f], "%s: %s %d changed its final state", side, kind, i)
			}
		}
	}
}

// requireNoStaleIPs checks that no table holds an IP last active before the
// latest horizon its IP job ran to: activity only ever moves forward.
func (m *model) requireNoStaleIPs(t *rapid.T, side int) {
	r := m.stores[side]
	counts := map[string]storage.CountFunc{
		"user_sessions":     r.UserSessions().CountStaleIPs,
		"compat_sessions":   r.CompatSessions().CountStaleIPs,
		"oauth2_sessions":   r.OAuth2Sessions().CountStaleIPs,
		"personal_sessions": r.PersonalSessions().CountStaleIPs,
	}
	for table, horizon := range m.ipHorizons {
		n, err := counts[table](m.ctx, horizon)
		require.NoError(t, err)
		require.Zero(t, n, "%s: %s holds %d IP(s) last active before %s, the horizon its IP job already ran to", modelSides[side], table, n, modelTime(horizon))
	}
}
