package reliability

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/masstore/masstore/storage"
)

// The values operations draw from: few subjects and sids, so that
// back-channel logouts match several logins; few addresses, one invalid.
var (
	modelSubjects = []string{"alice", "bob", "carol"}
	modelSids     = []string{"", "sid-1", "sid-2"}
	modelIPs      = []netip.Addr{{}, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::2")}
	modelExpiries = []time.Duration{0, 5 * time.Minute, time.Hour, 24 * time.Hour, 40 * 24 * time.Hour}
	modelModes    = []storage.BackchannelLogoutMode{storage.LogoutDoNothing, storage.LogoutBrowserOnly, storage.LogoutAll}
)

func (m *model) addUser(t *rapid.T) {
	m.newUser(t)
}

// newUser adds a user; -1 if that failed on both sides.
func (m *model) newUser(t *rapid.T) int {
	name := m.unique("user")
	out, ok := modelDo(m, t, "add user "+name, func(r storage.Repository, c storage.Clock, _ int) (*storage.User, error) {
		return r.Users().Add(m.ctx, c, name)
	})
	if !ok {
		return -1
	}
	m.users = append(m.users, &modelUser{obj: out, name: name})
	m.index("user", len(m.users)-1, out[0].ID, out[1].ID)
	return len(m.users) - 1
}

func (m *model) addBrowserSession(t *rapid.T) {
	m.newBrowserSession(t, modelPick(t, "user", len(m.users)))
}

// newBrowserSession starts a browser session of user u; -1 if that failed.
func (m *model) newBrowserSession(t *rapid.T, u int) int {
	user := m.users[u]
	out, ok := modelDo(m, t, fmt.Sprintf("add browser session of user %d", u), func(r storage.Repository, c storage.Clock, side int) (*storage.UserSession, error) {
		return r.UserSessions().Add(m.ctx, c, user.obj[side], "Mozilla/5.0")
	})
	if !ok {
		return -1
	}
	m.browsers = append(m.browsers, &modelBrowser{obj: out, user: u})
	m.index("browser", len(m.browsers)-1, out[0].ID, out[1].ID)
	m.maybeActivity(t, "browser", len(m.browsers)-1)
	return len(m.browsers) - 1
}

// drawOwner draws who a compat or OAuth 2.0 session belongs to: a browser
// session (and its user), or a user alone (b == -1).
func (m *model) drawOwner(t *rapid.T) (u, b int) {
	if len(m.browsers) > 0 && rapid.Bool().Draw(t, "under a browser session") {
		b = modelPick(t, "browser session", len(m.browsers))
		return m.browsers[b].user, b
	}
	return modelPick(t, "user", len(m.users)), -1
}

func (m *model) addCompatSession(t *rapid.T) {
	u, b := m.drawOwner(t)
	m.newCompatSession(t, u, b)
}

// newCompatSession starts a compat session of user u under browser session b
// (-1: none), with tokens, maybe used at once.
func (m *model) newCompatSession(t *rapid.T, u, b int) {
	device := m.unique("DEVICE")
	out, ok := modelDo(m, t, fmt.Sprintf("add compat session of user %d under browser session %d", u, b), func(r storage.Repository, c storage.Clock, side int) (*storage.CompatSession, error) {
		var browser *storage.UserSession
		if b >= 0 {
			browser = m.browsers[b].obj[side]
		}
		return r.CompatSessions().Add(m.ctx, c, m.users[u].obj[side], device, browser, false)
	})
	if !ok {
		return
	}
	m.compats = append(m.compats, &modelCompat{obj: out, user: u, browser: b})
	s := len(m.compats) - 1
	m.index("compat", s, out[0].ID, out[1].ID)
	m.maybeActivity(t, "compat", s)
	m.addCompatTokens(t, s)
}

// addCompatTokens adds an access token to compat session s and maybe a
// refresh token paired with it.
func (m *model) addCompatTokens(t *rapid.T, s int) {
	sess := m.compats[s]
	token := m.unique("mct")
	expiresIn := rapid.SampledFrom(modelExpiries).Draw(t, "expires in")
	at, ok := modelDo(m, t, fmt.Sprintf("add compat access token to compat session %d", s), func(r storage.Repository, c storage.Clock, side int) (*storage.CompatAccessToken, error) {
		return r.CompatSessions().AddAccessToken(m.ctx, c, sess.obj[side], token, expiresIn)
	})
	if !ok {
		return
	}
	m.compatATs = append(m.compatATs, &modelCompatAT{obj: at, session: s, token: token})
	a := len(m.compatATs) - 1
	m.index("compat access token", a, at[0].ID, at[1].ID)
	if !rapid.Bool().Draw(t, "with a refresh token") {
		return
	}
	m.newCompatRefreshToken(t, s, a)
}

// newCompatRefreshToken adds a refresh token paired with access token a to
// compat session s.
func (m *model) newCompatRefreshToken(t *rapid.T, s, a int) {
	token := m.unique("mcr")
	rt, ok := modelDo(m, t, fmt.Sprintf("add compat refresh token to compat session %d", s), func(r storage.Repository, c storage.Clock, side int) (*storage.CompatRefreshToken, error) {
		return r.CompatSessions().AddRefreshToken(m.ctx, c, m.compats[s].obj[side], m.compatATs[a].obj[side], token)
	})
	if ok {
		m.compatRTs = append(m.compatRTs, &modelCompatRT{obj: rt, session: s, access: a, token: token})
		m.index("compat refresh token", len(m.compatRTs)-1, rt[0].ID, rt[1].ID)
	}
}

func (m *model) addOAuth2Session(t *rapid.T) {
	// Draw the owner first: an action may only skip before it changes anything.
	u, b := -1, -1
	if len(m.users) > 0 && rapid.IntRange(0, 3).Draw(t, "owner (0: client credentials)") > 0 {
		u, b = m.drawOwner(t)
	}
	m.newOAuth2Session(t, u, b)
}

// newOAuth2Session starts an OAuth 2.0 session of a client (new or not) for
// user u (-1: none) under browser session b (-1: none), with tokens, maybe
// used at once.
func (m *model) newOAuth2Session(t *rapid.T, u, b int) {
	client := m.drawClient(t)
	if client < 0 {
		return
	}
	out, ok := modelDo(m, t, fmt.Sprintf("add OAuth 2.0 session of client %d, user %d, browser session %d", client, u, b), func(r storage.Repository, c storage.Clock, side int) (*storage.OAuth2Session, error) {
		var user *storage.User
		var browser *storage.UserSession
		if u >= 0 {
			user = m.users[u].obj[side]
		}
		if b >= 0 {
			browser = m.browsers[b].obj[side]
		}
		return r.OAuth2Sessions().Add(m.ctx, c, m.clients[client].obj[side], user, browser, []string{"openid", "urn:matrix:client:api:*"})
	})
	if !ok {
		return
	}
	m.oauths = append(m.oauths, &modelOAuth{obj: out, client: client, user: u, browser: b})
	s := len(m.oauths) - 1
	m.index("oauth2 session", s, out[0].ID, out[1].ID)
	m.maybeActivity(t, "oauth2", s)
	m.addOAuth2Tokens(t, s)
}

// drawClient draws an existing client or adds one, registered or (a
// quarter of the time) static; -1 if adding it failed.
func (m *model) drawClient(t *rapid.T) int {
	if len(m.clients) > 0 && rapid.Bool().Draw(t, "existing client") {
		return modelPick(t, "client", len(m.clients))
	}
	static := rapid.IntRange(0, 3).Draw(t, "static client (0)") == 0
	name := m.unique("client")
	out, ok := modelDo(m, t, fmt.Sprintf("add client %s (static %v)", name, static), func(r storage.Repository, c storage.Clock, _ int) (*storage.OAuth2Client, error) {
		if static {
			return r.OAuth2Clients().AddStatic(m.ctx, c, name, []string{"https://client.example.org/cb"})
		}
		return r.OAuth2Clients().Add(m.ctx, c, name, []string{"https://client.example.org/cb"})
	})
	if !ok {
		return -1
	}
	m.clients = append(m.clients, &modelClient{obj: out, static: static})
	m.index("client", len(m.clients)-1, out[0].ID, out[1].ID)
	return len(m.clients) - 1
}

// addOAuth2Tokens adds to OAuth 2.0 session s an access token, a refresh
// token, or both, paired.
func (m *model) addOAuth2Tokens(t *rapid.T, s int) {
	a := -1
	if rapid.IntRange(0, 3).Draw(t, "tokens (0: refresh token alone)") > 0 {
		if a = m.newOAuth2AccessToken(t, s); a < 0 {
			return
		}
		if !rapid.Bool().Draw(t, "with a refresh token") {
			return
		}
	}
	m.newOAuth2RefreshToken(t, s, a)
}

// newOAuth2AccessToken adds an access token to OAuth 2.0 session s; -1 if
// that failed.
func (m *model) newOAuth2AccessToken(t *rapid.T, s int) int {
	token := m.unique("mat")
	expiresIn := rapid.SampledFrom(modelExpiries).Draw(t, "expires in")
	out, ok := modelDo(m, t, fmt.Sprintf("add access token to OAuth 2.0 session %d", s), func(r storage.Repository, c storage.Clock, side int) (*storage.OAuth2AccessToken, error) {
		return r.OAuth2Tokens().AddAccessToken(m.ctx, c, m.oauths[s].obj[side], token, expiresIn)
	})
	if !ok {
		return -1
	}
	m.oauthATs = append(m.oauthATs, &modelOAuthAT{obj: out, session: s})
	m.index("oauth2 access token", len(m.oauthATs)-1, out[0].ID, out[1].ID)
	return len(m.oauthATs) - 1
}

// newOAuth2RefreshToken adds a refresh token to OAuth 2.0 session s, paired
// with access token a unless -1.
func (m *model) newOAuth2RefreshToken(t *rapid.T, s, a int) {
	token := m.unique("mar")
	out, ok := modelDo(m, t, fmt.Sprintf("add refresh token to OAuth 2.0 session %d paired with %d", s, a), func(r storage.Repository, c storage.Clock, side int) (*storage.OAuth2RefreshToken, error) {
		var access *storage.OAuth2AccessToken
		if a >= 0 {
			access = m.oauthATs[a].obj[side]
		}
		return r.OAuth2Tokens().AddRefreshToken(m.ctx, c, m.oauths[s].obj[side], access, token)
	})
	if ok {
		m.oauthRTs = append(m.oauthRTs, &modelOAuthRT{obj: out, session: s, access: a, next: -1})
		m.index("oauth2 refresh token", len(m.oauthRTs)-1, out[0].ID, out[1].ID)
	}
}

// addTokens adds tokens to any compat or OAuth 2.0 session, finished or
// deleted ones included.
func (m *model) addTokens(t *rapid.T) {
	if modelChoose(t, "session kind", modelOption{"compat", len(m.compats)}, modelOption{"oauth2", len(m.oauths)}) == "compat" {
		m.addCompatTokens(t, modelPick(t, "compat session", len(m.compats)))
		return
	}
	m.addOAuth2Tokens(t, modelPick(t, "OAuth 2.0 session", len(m.oauths)))
}

// newProvider registers an upstream provider with a drawn logout mode.
func (m *model) newProvider(t *rapid.T) int {
	mode := rapid.SampledFrom(modelModes).Draw(t, "back-channel logout mode")
	issuer := "https://" + m.unique("idp") + ".example.org"
	out, ok := modelDo(m, t, "add provider "+string(mode), func(r storage.Repository, c storage.Clock, _ int) (*storage.UpstreamOAuthProvider, error) {
		return r.UpstreamOAuth().AddProvider(m.ctx, c, storage.UpstreamOAuthProvider{
			Issuer: issuer, HumanName: "IdP", ClientID: "masstore", Scope: "openid", OnBackchannelLogout: mode,
		})
	})
	if !ok {
		return -1
	}
	m.providers = append(m.providers, &modelProvider{obj: out})
	m.index("provider", len(m.providers)-1, out[0].ID, out[1].ID)
	return len(m.providers) - 1
}

// upstreamLogin starts a login at a provider and takes it as far as drawn:
// started, completed (with the link of a subject, found or added, attached
// to a user or not), or authenticating a browser session.
func (m *model) upstreamLogin(t *rapid.T) {
	p := -1
	if len(m.providers) > 0 && rapid.Bool().Draw(t, "existing provider") {
		p = modelPick(t, "provider", len(m.providers))
	} else if p = m.newProvider(t); p < 0 {
		return
	}
	state := m.unique("state")
	out, ok := modelDo(m, t, fmt.Sprintf("start upstream login at provider %d", p), func(r storage.Repository, c storage.Clock, side int) (*storage.UpstreamOAuthSession, error) {
		return r.UpstreamOAuth().AddSession(m.ctx, c, m.providers[p].obj[side], state, "nonce")
	})
	if !ok {
		return
	}
	m.upstreams = append(m.upstreams, &modelUpstream{obj: out, provider: p, link: -1, browser: -1})
	u := len(m.upstreams) - 1
	m.index("upstream login", u, out[0].ID, out[1].ID)
	stage := rapid.IntRange(0, 2).Draw(t, "stage (0 started, 1 completed, 2 authenticated)")
	if stage < 1 || !m.complete(t, u) || stage < 2 {
		return
	}
	b := m.authenticate(t, u)
	if b < 0 {
		return
	}
	// Clients the user then signs in to, from that browser session: what a
	// back-channel logout in mode logout_all must reach.
	for range rapid.IntRange(0, 2).Draw(t, "client sessions from it") {
		if rapid.Bool().Draw(t, "compat (else OAuth 2.0)") {
			m.newCompatSession(t, m.browsers[b].user, b)
		} else {
			m.newOAuth2Session(t, m.browsers[b].user, b)
		}
	}
}

func (m *model) completeUpstreamLogin(t *rapid.T) {
	m.complete(t, modelPick(t, "upstream login", len(m.upstreams)))
}

// complete completes upstream login u with the link of a drawn subject at
// its provider (found, or added for a drawn user or none) and a drawn sid.
func (m *model) complete(t *rapid.T, u int) bool {
	up := m.upstreams[u]
	subject := rapid.SampledFrom(modelSubjects).Draw(t, "subject")
	found, ok := modelDo(m, t, fmt.Sprintf("find link of %s at provider %d", subject, up.provider), func(r storage.Repository, _ storage.Clock, side int) (*storage.UpstreamOAuthLink, error) {
		return r.UpstreamOAuth().FindLink(m.ctx, m.providers[up.provider].obj[side], subject)
	})
	l := -1
	if ok {
		l = m.logical(t, modelMemory, "link", found[modelMemory].ID)
		require.Equal(t, l, m.logical(t, modelPostgres, "link", found[modelPostgres].ID), "FindLink found different links")
	} else if l = m.newLink(t, up.provider, subject); l < 0 {
		return false
	}
	claims := storage.IDTokenClaims{Sub: subject, Sid: rapid.SampledFrom(modelSids).Draw(t, "sid")}
	out, ok := modelDo(m, t, fmt.Sprintf("complete upstream login %d with link %d, %+v", u, l, claims), func(r storage.Repository, c storage.Clock, side int) (*storage.UpstreamOAuthSession, error) {
		return r.UpstreamOAuth().CompleteSession(m.ctx, c, up.obj[side], m.links[l].obj[side], claims)
	})
	if ok {
		modelUpdate(&up.obj, out)
		up.link, up.claims = l, claims
	}
	return ok
}

// newLink links subject at provider p to a drawn user or to none; -1 if that
// failed.
func (m *model) newLink(t *rapid.T, p int, subject string) int {
	u := modelPickOrNone(t, "link's user", len(m.users))
	out, ok := modelDo(m, t, fmt.Sprintf("link %s at provider %d to user %d", subject, p, u), func(r storage.Repository, c storage.Clock, side int) (*storage.UpstreamOAuthLink, error) {
		var user *storage.User
		if u >= 0 {
			user = m.users[u].obj[side]
		}
		return r.UpstreamOAuth().AddLink(m.ctx, c, m.providers[p].obj[side], subject, user)
	})
	if !ok {
		return -1
	}
	m.links = append(m.links, &modelLink{obj: out, provider: p, user: u})
	m.index("link", len(m.links)-1, out[0].ID, out[1].ID)
	return len(m.links) - 1
}

func (m *model) authenticateWithUpstream(t *rapid.T) {
	_ = m.authenticate(t, modelPick(t, "upstream login", len(m.upstreams)))
}

// authenticate authenticates a browser session (new, or a drawn one of the
// same user, finished or deleted ones included) with upstream login u and
// returns it (-1 if none was). As
// in MAS, only a login whose link is attached to a user authenticates a
// session of that user: a login through a link attached to no one is a
// registration in progress, which the links job may delete with its link.
func (m *model) authenticate(t *rapid.T, u int) int {
	up := m.upstreams[u]
	if up.link < 0 || m.links[up.link].user < 0 {
		t.Logf("upstream login %d has no link attached to a user: it authenticates no one", u)
		return -1
	}
	user := m.links[up.link].user
	var mine []int
	for i, b := range m.browsers {
		if b.user == user {
			mine = append(mine, i)
		}
	}
	b := -1
	if len(mine) > 0 && rapid.Bool().Draw(t, "existing browser session") {
		b = mine[modelPick(t, "browser session of the user", len(mine))]
	} else if b = m.newBrowserSession(t, user); b < 0 {
		return -1
	}
	if !m.both(t, fmt.Sprintf("authenticate browser session %d with upstream login %d", b, u), func(side int, r storage.Store, c storage.Clock) error {
		_, err := r.UserSessions().AuthenticateWithUpstream(m.ctx, c, m.browsers[b].obj[side], up.obj[side])
		return err
	}) {
		return -1
	}
	// The login is now linked to the session, unless it was linked to one
	// already (at the last check, or earlier in this step).
	if row, ok := m.prev[modelMemory].Upstreams[u]; (!ok && up.browser < 0) || (ok && row.Browser < 0) {
		up.browser = b
	}
	return b
}

// associateOrConsume attaches a link to a user, or consumes an upstream login.
func (m *model) associateOrConsume(t *rapid.T) {
	if modelChoose(t, "what", modelOption{"associate", min(len(m.links), len(m.users))}, modelOption{"consume", len(m.upstreams)}) == "associate" {
		l := modelPick(t, "link", len(m.links))
		u := modelPick(t, "user", len(m.users))
		out, ok := modelDo(m, t, fmt.Sprintf("associate link %d with user %d", l, u), func(r storage.Repository, _ storage.Clock, side int) (*storage.UpstreamOAuthLink, error) {
			return r.UpstreamOAuth().AssociateLink(m.ctx, m.links[l].obj[side], m.users[u].obj[side])
		})
		if ok {
			modelUpdate(&m.links[l].obj, out)
			m.links[l].user = u
		}
		return
	}
	u := modelPick(t, "upstream login", len(m.upstreams))
	out, ok := modelDo(m, t, fmt.Sprintf("consume upstream login %d", u), func(r storage.Repository, c storage.Clock, side int) (*storage.UpstreamOAuthSession, error) {
		return r.UpstreamOAuth().ConsumeSession(m.ctx, c, m.upstreams[u].obj[side])
	})
	if ok {
		modelUpdate(&m.upstreams[u].obj, out)
	}
}

// chooseSessionKind draws the kind of session Finish and RecordActivity
// work on, among those the sequence has.
func (m *model) chooseSessionKind(t *rapid.T) string {
	return modelChoose(t, "kind", modelOption{"browser", len(m.browsers)}, modelOption{"compat", len(m.compats)}, modelOption{"oauth2", len(m.oauths)})
}

func (m *model) finish(t *rapid.T) {
	switch m.chooseSessionKind(t) {
	case "browser":
		s := m.browsers[modelPick(t, "browser session", len(m.browsers))]
		out, ok := modelDo(m, t, "finish browser session", func(r storage.Repository, c storage.Clock, side int) (*storage.UserSession, error) {
			return r.UserSessions().Finish(m.ctx, c, s.obj[side])
		})
		if ok {
			modelUpdate(&s.obj, out)
		}
	case "compat":
		s := m.compats[modelPick(t, "compat session", len(m.compats))]
		out, ok := modelDo(m, t, "finish compat session", func(r storage.Repository, c storage.Clock, side int) (*storage.CompatSession, error) {
			return r.CompatSessions().Finish(m.ctx, c, s.obj[side])
		})
		if ok {
			modelUpdate(&s.obj, out)
		}
	default:
		s := m.oauths[modelPick(t, "OAuth 2.0 session", len(m.oauths))]
		out, ok := modelDo(m, t, "finish OAuth 2.0 session", func(r storage.Repository, c storage.Clock, side int) (*storage.OAuth2Session, error) {
			return r.OAuth2Sessions().Finish(m.ctx, c, s.obj[side])
		})
		if ok {
			modelUpdate(&s.obj, out)
		}
	}
}

func (m *model) recordActivity(t *rapid.T) {
	n := map[string]int{"browser": len(m.browsers), "compat": len(m.compats), "oauth2": len(m.oauths), "personal": len(m.personals)}
	kind := modelChoose(t, "kind", modelOption{"browser", n["browser"]}, modelOption{"compat", n["compat"]}, modelOption{"oauth2", n["oauth2"]}, modelOption{"personal", n["personal"]})
	m.activity(t, kind, modelPick(t, kind+" session", n[kind]))
}

// maybeActivity records, half the time, activity of a session just created:
// most sessions are used at once.
func (m *model) maybeActivity(t *rapid.T, kind string, i int) {
	if rapid.Bool().Draw(t, "used at once") {
		m.activity(t, kind, i)
	}
}

// activity records activity of session i of kind from a drawn address.
func (m *model) activity(t *rapid.T, kind string, i int) {
	type recordFunc = func(context.Context, storage.Clock, ulid.ULID, netip.Addr) error
	var id [2]ulid.ULID
	var record func(r storage.Repository) recordFunc
	switch kind {
	case "browser":
		id = [2]ulid.ULID{m.browsers[i].obj[0].ID, m.browsers[i].obj[1].ID}
		record = func(r storage.Repository) recordFunc { return r.UserSessions().RecordActivity }
	case "compat":
		id = [2]ulid.ULID{m.compats[i].obj[0].ID, m.compats[i].obj[1].ID}
		record = func(r storage.Repository) recordFunc { return r.CompatSessions().RecordActivity }
	case "personal":
		id = [2]ulid.ULID{m.personals[i].obj[0].ID, m.personals[i].obj[1].ID}
		record = func(r storage.Repository) recordFunc { return r.PersonalSessions().RecordActivity }
	default:
		id = [2]ulid.ULID{m.oauths[i].obj[0].ID, m.oauths[i].obj[1].ID}
		record = func(r storage.Repository) recordFunc { return r.OAuth2Sessions().RecordActivity }
	}
	ip := rapid.SampledFrom(modelIPs).Draw(t, "ip")
	m.both(t, fmt.Sprintf("record activity of %s session %d from %v", kind, i, ip), func(side int, r storage.Store, c storage.Clock) error {
		return record(r)(m.ctx, c, id[side], ip)
	})
}

// rotateRefreshToken uses a refresh token, as a token endpoint does, in one
// transaction: a new access and refresh token for its session, and the old
// one consumed naming the new one (for OAuth 2.0, sometimes naming none).
func (m *model) rotateRefreshToken(t *rapid.T) {
	if modelChoose(t, "token kind", modelOption{"compat", len(m.compatRTs)}, modelOption{"oauth2", len(m.oauthRTs)}) == "compat" {
		m.rotateCompat(t)
		return
	}
	i := modelPick(t, "OAuth 2.0 refresh token", len(m.oauthRTs))
	old := m.oauthRTs[i]
	s := old.session
	withNext := rapid.IntRange(0, 4).Draw(t, "successor (0: none)") > 0
	atToken, rtToken := m.unique("mat"), m.unique("mar")
	var at [2]*storage.OAuth2AccessToken
	var rt, used [2]*storage.OAuth2RefreshToken
	ok := m.both(t, fmt.Sprintf("rotate OAuth 2.0 refresh token %d (successor: %v)", i, withNext), func(side int, st storage.Store, c storage.Clock) error {
		return st.Transact(m.ctx, func(ctx context.Context, r storage.Repository) (err error) {
			if withNext {
				if at[side], err = r.OAuth2Tokens().AddAccessToken(ctx, c, m.oauths[s].obj[side], atToken, time.Hour); err != nil {
					return err
				}
				if rt[side], err = r.OAuth2Tokens().AddRefreshToken(ctx, c, m.oauths[s].obj[side], at[side], rtToken); err != nil {
					return err
				}
			}
			used[side], err = r.OAuth2Tokens().ConsumeRefreshToken(ctx, c, old.obj[side], rt[side])
			return err
		})
	})
	if !ok {
		return
	}
	modelUpdate(&old.obj, used)
	if withNext {
		m.oauthATs = append(m.oauthATs, &modelOAuthAT{obj: at, session: s})
		a := len(m.oauthATs) - 1
		m.index("oauth2 access token", a, at[0].ID, at[1].ID)
		m.oauthRTs = append(m.oauthRTs, &modelOAuthRT{obj: rt, session: s, access: a, next: -1})
		old.next = len(m.oauthRTs) - 1
		m.index("oauth2 refresh token", old.next, rt[0].ID, rt[1].ID)
	}
}

// rotateCompat consumes a compat refresh token and adds a new pair.
func (m *model) rotateCompat(t *rapid.T) {
	i := modelPick(t, "compat refresh token", len(m.compatRTs))
	old := m.compatRTs[i]
	s := old.session
	atToken, rtToken := m.unique("mct"), m.unique("mcr")
	var at [2]*storage.CompatAccessToken
	var rt, used [2]*storage.CompatRefreshToken
	ok := m.both(t, fmt.Sprintf("rotate compat refresh token %d", i), func(side int, st storage.Store, c storage.Clock) error {
		return st.Transact(m.ctx, func(ctx context.Context, r storage.Repository) (err error) {
			if used[side], err = r.CompatSessions().ConsumeRefreshToken(ctx, c, old.obj[side]); err != nil {
				return err
			}
			if at[side], err = r.CompatSessions().AddAccessToken(ctx, c, m.compats[s].obj[side], atToken, 0); err != nil {
				return err
			}
			rt[side], err = r.CompatSessions().AddRefreshToken(ctx, c, m.compats[s].obj[side], at[side], rtToken)
			return err
		})
	})
	if !ok {
		return
	}
	modelUpdate(&old.obj, used)
	m.compatATs = append(m.compatATs, &modelCompatAT{obj: at, session: s, token: atToken})
	a := len(m.compatATs) - 1
	m.index("compat access token", a, at[0].ID, at[1].ID)
	m.compatRTs = append(m.compatRTs, &modelCompatRT{obj: rt, session: s, access: a, token: rtToken})
	m.index("compat refresh token", len(m.compatRTs)-1, rt[0].ID, rt[1].ID)
}

func (m *model) revoke(t *rapid.T) {
	switch modelChoose(t, "what", modelOption{"revoke access", len(m.oauthATs)}, modelOption{"expire access", len(m.oauthATs)}, modelOption{"revoke refresh", len(m.oauthRTs)}) {
	case "revoke access":
		a := m.oauthATs[modelPick(t, "OAuth 2.0 access token", len(m.oauthATs))]
		out, ok := modelDo(m, t, "revoke access token", func(r storage.Repository, c storage.Clock, side int) (*storage.OAuth2AccessToken, error) {
			return r.OAuth2Tokens().RevokeAccessToken(m.ctx, c, a.obj[side])
		})
		if ok {
			modelUpdate(&a.obj, out)
		}
	case "expire access":
		a := m.oauthATs[modelPick(t, "OAuth 2.0 access token", len(m.oauthATs))]
		out, ok := modelDo(m, t, "expire access token", func(r storage.Repository, c storage.Clock, side int) (*storage.OAuth2AccessToken, error) {
			return r.OAuth2Tokens().ExpireAccessToken(m.ctx, c, a.obj[side])
		})
		if ok {
			modelUpdate(&a.obj, out)
		}
	default:
		rt := m.oauthRTs[modelPick(t, "OAuth 2.0 refresh token", len(m.oauthRTs))]
		out, ok := modelDo(m, t, "revoke refresh token", func(r storage.Repository, c storage.Clock, side int) (*storage.OAuth2RefreshToken, error) {
			return r.OAuth2Tokens().RevokeRefreshToken(m.ctx, c, rt.obj[side])
		})
		if ok {
			modelUpdate(&rt.obj, out)
		}
	}
}

func (m *model) deactivateUser(t *rapid.T) {
	u := modelPick(t, "user", len(m.users))
	out, ok := modelDo(m, t, fmt.Sprintf("deactivate user %d", u), func(r storage.Repository, c storage.Clock, side int) (*storage.User, error) {
		return r.Users().Deactivate(m.ctx, c, m.users[u].obj[side])
	})
	if ok {
		modelUpdate(&m.users[u].obj, out)
	}
}

// modelLogout is a LogoutReport by logical index, sorted.
type modelLogout struct {
	Upstreams, Browsers, FinishedBrowsers, FinishedCompats, FinishedOAuths []int
}

// backchannelLogout handles a logout token: aimed at a completed login (its
// provider, its sub, maybe its sid), or drawn at random.
func (m *model) backchannelLogout(t *rapid.T) {
	var completed []int
	for i, u := range m.upstreams {
		if u.link >= 0 {
			completed = append(completed, i)
		}
	}
	var p int
	var sub, sid string
	if modelChoose(t, "logout token", modelOption{"aimed", len(completed)}, modelOption{"random", len(m.providers)}) == "aimed" {
		up := m.upstreams[completed[modelPick(t, "completed upstream login", len(completed))]]
		p, sub = up.provider, up.claims.Sub
		sid = rapid.SampledFrom([]string{"", up.claims.Sid}).Draw(t, "sid")
	} else {
		p = modelPick(t, "provider", len(m.providers))
		sub = rapid.SampledFrom(append([]string{""}, modelSubjects...)).Draw(t, "sub")
		sid = rapid.SampledFrom(modelSids).Draw(t, "sid")
	}
	out, ok := modelDo(m, t, fmt.Sprintf("back-channel logout at provider %d, sub %q, sid %q", p, sub, sid), func(r storage.Repository, c storage.Clock, side int) (*storage.LogoutReport, error) {
		return r.UpstreamOAuth().BackchannelLogout(m.ctx, c, m.providers[p].obj[side], sub, sid)
	})
	if !ok {
		return
	}
	var reports [2]modelLogout
	for side := range 2 {
		ids := func(kind string, list []ulid.ULID) []int {
			out := []int{}
			for _, id := range list {
				out = append(out, m.logical(t, side, kind, id))
			}
			slices.Sort(out)
			return out
		}
		r := out[side]
		reports[side] = modelLogout{
			Upstreams: ids("upstream login", r.UpstreamSessions), Browsers: ids("browser", r.UserSessions),
			FinishedBrowsers: ids("browser", r.FinishedUserSessions), FinishedCompats: ids("compat", r.FinishedCompatSessions),
			FinishedOAuths: ids("oauth2 session", r.FinishedOAuth2Sessions),
		}
	}
	require.Equal(t, reports[modelMemory], reports[modelPostgres], "back-channel logout reports (memory, postgres)")
}
