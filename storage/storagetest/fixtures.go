package storagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// Epoch is the instant every test clock starts at.
var Epoch = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// zone is a non-UTC zone; oddInstant is Epoch+123456789ns seen from it:
// stores must keep it as UTC, truncated to the microsecond.
var (
	zone       = time.FixedZone("UTC+05:30", 5*3600+30*60)
	oddInstant = Epoch.Add(123456789 * time.Nanosecond).In(zone)
)

// Test addresses.
var (
	ipA = netip.MustParseAddr("192.0.2.1")
	ipB = netip.MustParseAddr("2001:db8::2")
)

// bundle is what one test works with: its own store, a context and a clock
// stopped at Epoch.
type bundle struct {
	ctx   context.Context
	store storage.Store
	clock *storage.TestClock
}

// setup returns a bundle around a new store from f.
func setup(t *testing.T, f Factory) bundle {
	t.Helper()
	return bundle{ctx: t.Context(), store: f(t), clock: newClock()}
}

// newClock returns a test clock stopped at Epoch.
func newClock() *storage.TestClock { return storage.NewTestClock(Epoch) }

// oddClock returns a test clock stopped at oddInstant: a non-UTC zone and
// nanoseconds the store must drop.
func oddClock() *storage.TestClock { return storage.NewTestClock(oddInstant) }

var counter atomic.Int64

// unique returns a string no other call of the process returns.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, counter.Add(1))
}

// unknownID returns an ID no row has.
func unknownID(clock storage.Clock) ulid.ULID { return ulidx.New(clock.Now()) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// at returns storage.Now(clock), as a pointer, for the *time.Time fields.
func at(clock storage.Clock) *time.Time { return ptr(storage.Now(clock)) }

// requireNewID checks that id is set and encodes clock's time.
func requireNewID(t *testing.T, clock storage.Clock, id ulid.ULID) {
	t.Helper()
	require.NotEqual(t, ulid.ULID{}, id)
	require.Equal(t, ulid.Timestamp(clock.Now()), id.Time(), "ID %s must encode the creation time", id)
}

// requireJSON checks that got holds the JSON document want (stores may
// reformat it).
func requireJSON(t *testing.T, want string, got json.RawMessage) {
	t.Helper()
	require.JSONEq(t, want, string(got))
}

// mustUser adds a user with a unique username.
func mustUser(t *testing.T, r storage.Repository, clock storage.Clock) *storage.User {
	t.Helper()
	u, err := r.Users().Add(t.Context(), clock, unique("user"))
	require.NoError(t, err)
	return u
}

// mustEmail adds a unique email address to user.
func mustEmail(t *testing.T, r storage.Repository, clock storage.Clock, user *storage.User) *storage.UserEmail {
	t.Helper()
	e, err := r.Users().AddEmail(t.Context(), clock, user, unique("mail")+"@example.org")
	require.NoError(t, err)
	return e
}

// mustPassword adds a password to user.
func mustPassword(t *testing.T, r storage.Repository, clock storage.Clock, user *storage.User) *storage.UserPassword {
	t.Helper()
	p, err := r.Users().AddPassword(t.Context(), clock, user, unique("$argon2id$hash"), 1)
	require.NoError(t, err)
	return p
}

// mustUserSession starts a browser session of user.
func mustUserSession(t *testing.T, r storage.Repository, clock storage.Clock, user *storage.User) *storage.UserSession {
	t.Helper()
	s, err := r.UserSessions().Add(t.Context(), clock, user, "Mozilla/5.0")
	require.NoError(t, err)
	return s
}

// mustFinishUserSession finishes a browser session.
func mustFinishUserSession(t *testing.T, r storage.Repository, clock storage.Clock, s *storage.UserSession) *storage.UserSession {
	t.Helper()
	s, err := r.UserSessions().Finish(t.Context(), clock, s)
	require.NoError(t, err)
	return s
}

// mustCompatSession starts a compat session of user, under browser when not nil.
func mustCompatSession(t *testing.T, r storage.Repository, clock storage.Clock, user *storage.User, browser *storage.UserSession) *storage.CompatSession {
	t.Helper()
	s, err := r.CompatSessions().Add(t.Context(), clock, user, unique("DEVICE"), browser, false)
	require.NoError(t, err)
	return s
}

// mustFinishCompatSession finishes a compat session.
func mustFinishCompatSession(t *testing.T, r storage.Repository, clock storage.Clock, s *storage.CompatSession) *storage.CompatSession {
	t.Helper()
	s, err := r.CompatSessions().Finish(t.Context(), clock, s)
	require.NoError(t, err)
	return s
}

// mustCompatAccessToken adds a compat access token expiring after expiresIn (0: never).
func mustCompatAccessToken(t *testing.T, r storage.Repository, clock storage.Clock, s *storage.CompatSession, expiresIn time.Duration) *storage.CompatAccessToken {
	t.Helper()
	tok, err := r.CompatSessions().AddAccessToken(t.Context(), clock, s, unique("mct"), expiresIn)
	require.NoError(t, err)
	return tok
}

// mustCompatRefreshToken adds a compat refresh token paired with access.
func mustCompatRefreshToken(t *testing.T, r storage.Repository, clock storage.Clock, s *storage.CompatSession, access *storage.CompatAccessToken) *storage.CompatRefreshToken {
	t.Helper()
	tok, err := r.CompatSessions().AddRefreshToken(t.Context(), clock, s, access, unique("mcr"))
	require.NoError(t, err)
	return tok
}

// mustSSOLogin starts a compat SSO login.
func mustSSOLogin(t *testing.T, r storage.Repository, clock storage.Clock) *storage.CompatSSOLogin {
	t.Helper()
	l, err := r.CompatSessions().AddSSOLogin(t.Context(), clock, unique("login"), "https://client.example.org/callback")
	require.NoError(t, err)
	return l
}

// mustClient registers an OAuth 2.0 client.
func mustClient(t *testing.T, r storage.Repository, clock storage.Clock) *storage.OAuth2Client {
	t.Helper()
	c, err := r.OAuth2Clients().Add(t.Context(), clock, unique("client"), []string{"https://client.example.org/cb"})
	require.NoError(t, err)
	return c
}

// mustStaticClient registers a static OAuth 2.0 client.
func mustStaticClient(t *testing.T, r storage.Repository, clock storage.Clock) *storage.OAuth2Client {
	t.Helper()
	c, err := r.OAuth2Clients().AddStatic(t.Context(), clock, unique("static"), []string{"https://static.example.org/cb"})
	require.NoError(t, err)
	return c
}

// mustOAuth2Session starts an OAuth 2.0 session of client; user and browser
// may be nil.
func mustOAuth2Session(t *testing.T, r storage.Repository, clock storage.Clock, client *storage.OAuth2Client, user *storage.User, browser *storage.UserSession) *storage.OAuth2Session {
	t.Helper()
	s, err := r.OAuth2Sessions().Add(t.Context(), clock, client, user, browser, []string{"openid", "urn:matrix:client:api:*"})
	require.NoError(t, err)
	return s
}

// mustFinishOAuth2Session finishes an OAuth 2.0 session.
func mustFinishOAuth2Session(t *testing.T, r storage.Repository, clock storage.Clock, s *storage.OAuth2Session) *storage.OAuth2Session {
	t.Helper()
	s, err := r.OAuth2Sessions().Finish(t.Context(), clock, s)
	require.NoError(t, err)
	return s
}

// mustAccessToken adds an OAuth 2.0 access token expiring after expiresIn (0: never).
func mustAccessToken(t *testing.T, r storage.Repository, clock storage.Clock, s *storage.OAuth2Session, expiresIn time.Duration) *storage.OAuth2AccessToken {
	t.Helper()
	tok, err := r.OAuth2Tokens().AddAccessToken(t.Context(), clock, s, unique("mat"), expiresIn)
	require.NoError(t, err)
	return tok
}

// mustRefreshToken adds an OAuth 2.0 refresh token, paired with access when not nil.
func mustRefreshToken(t *testing.T, r storage.Repository, clock storage.Clock, s *storage.OAuth2Session, access *storage.OAuth2AccessToken) *storage.OAuth2RefreshToken {
	t.Helper()
	tok, err := r.OAuth2Tokens().AddRefreshToken(t.Context(), clock, s, access, unique("mar"))
	require.NoError(t, err)
	return tok
}

// mustAuthorizationGrant starts an authorization-code grant of client.
func mustAuthorizationGrant(t *testing.T, r storage.Repository, clock storage.Clock, client *storage.OAuth2Client) *storage.OAuth2AuthorizationGrant {
	t.Helper()
	g, err := r.OAuth2Grants().AddAuthorizationGrant(t.Context(), clock, client, "https://client.example.org/cb", "openid", unique("code"))
	require.NoError(t, err)
	return g
}

// mustDeviceCodeGrant starts a device-code grant of client, expiring in 10 minutes.
func mustDeviceCodeGrant(t *testing.T, r storage.Repository, clock storage.Clock, client *storage.OAuth2Client) *storage.OAuth2DeviceCodeGrant {
	t.Helper()
	g, err := r.OAuth2Grants().AddDeviceCodeGrant(t.Context(), clock, client, "openid", unique("device"), unique("USER"), 10*time.Minute, ipA, "curl/8")
	require.NoError(t, err)
	return g
}

// mustProvider registers an upstream provider with that back-channel logout mode.
func mustProvider(t *testing.T, r storage.Repository, clock storage.Clock, mode storage.BackchannelLogoutMode) *storage.UpstreamOAuthProvider {
	t.Helper()
	p, err := r.UpstreamOAuth().AddProvider(t.Context(), clock, storage.UpstreamOAuthProvider{
		Issuer:              "https://" + unique("idp") + ".example.org",
		HumanName:           "Example IdP",
		ClientID:            unique("client"),
		Scope:               "openid",
		OnBackchannelLogout: mode,
	})
	require.NoError(t, err)
	return p
}

// mustLink links a unique subject at provider to user (nil: to none).
func mustLink(t *testing.T, r storage.Repository, clock storage.Clock, provider *storage.UpstreamOAuthProvider, user *storage.User) *storage.UpstreamOAuthLink {
	t.Helper()
	l, err := r.UpstreamOAuth().AddLink(t.Context(), clock, provider, unique("subject"), user)
	require.NoError(t, err)
	return l
}

// mustUpstreamSession starts an upstream login at provider (not completed).
func mustUpstreamSession(t *testing.T, r storage.Repository, clock storage.Clock, provider *storage.UpstreamOAuthProvider) *storage.UpstreamOAuthSession {
	t.Helper()
	s, err := r.UpstreamOAuth().AddSession(t.Context(), clock, provider, unique("state"), unique("nonce"))
	require.NoError(t, err)
	return s
}

// mustCompletedUpstreamSession starts an upstream login at provider and
// completes it with link and claims.
func mustCompletedUpstreamSession(t *testing.T, r storage.Repository, clock storage.Clock, provider *storage.UpstreamOAuthProvider, link *storage.UpstreamOAuthLink, claims storage.IDTokenClaims) *storage.UpstreamOAuthSession {
	t.Helper()
	s := mustUpstreamSession(t, r, clock, provider)
	s, err := r.UpstreamOAuth().CompleteSession(t.Context(), clock, s, link, claims)
	require.NoError(t, err)
	return s
}

// mustUpstreamLogin logs user in through provider: a link, an upstream login
// completed with claims, and a new browser session authenticated with it.
// It returns the browser session and the upstream login (re-read, so its
// UserSessionID is set).
func mustUpstreamLogin(t *testing.T, r storage.Repository, clock storage.Clock, provider *storage.UpstreamOAuthProvider, user *storage.User, claims storage.IDTokenClaims) (*storage.UserSession, *storage.UpstreamOAuthSession) {
	t.Helper()
	link, err := r.UpstreamOAuth().FindLink(t.Context(), provider, claims.Sub)
	if err != nil {
		require.ErrorIs(t, err, storage.ErrNotFound)
		link, err = r.UpstreamOAuth().AddLink(t.Context(), clock, provider, claims.Sub, user)
		require.NoError(t, err)
	}
	upstream := mustCompletedUpstreamSession(t, r, clock, provider, link, claims)
	browser := mustUserSession(t, r, clock, user)
	_, err = r.UserSessions().AuthenticateWithUpstream(t.Context(), clock, browser, upstream)
	require.NoError(t, err)
	upstream, err = r.UpstreamOAuth().LookupSession(t.Context(), upstream.ID)
	require.NoError(t, err)
	return browser, upstream
}

// mustRecoverySession starts an account recovery for a unique address.
func mustRecoverySession(t *testing.T, r storage.Repository, clock storage.Clock) *storage.RecoverySession {
	t.Helper()
	s, err := r.Recovery().AddSession(t.Context(), clock, unique("lost")+"@example.org", "Mozilla/5.0", ipA, "en")
	require.NoError(t, err)
	return s
}

// mustRecoveryTicket adds a ticket, expiring in an hour, for email.
func mustRecoveryTicket(t *testing.T, r storage.Repository, clock storage.Clock, s *storage.RecoverySession, email *storage.UserEmail) *storage.RecoveryTicket {
	t.Helper()
	tk, err := r.Recovery().AddTicket(t.Context(), clock, s, email, unique("ticket"), time.Hour)
	require.NoError(t, err)
	return tk
}

// mustRegistration starts a registration of a unique username.
func mustRegistration(t *testing.T, r storage.Repository, clock storage.Clock) *storage.Registration {
	t.Helper()
	reg, err := r.Registrations().Add(t.Context(), clock, unique("newbie"), ipA, "Mozilla/5.0")
	require.NoError(t, err)
	return reg
}

// mustEmailAuthentication starts an email authentication for browser or
// registration (exactly one not nil).
func mustEmailAuthentication(t *testing.T, r storage.Repository, clock storage.Clock, browser *storage.UserSession, registration *storage.Registration) *storage.EmailAuthentication {
	t.Helper()
	a, err := r.Registrations().AddEmailAuthentication(t.Context(), clock, unique("verify")+"@example.org", browser, registration)
	require.NoError(t, err)
	return a
}

// mustEmailCode adds a code, expiring in an hour, to auth.
func mustEmailCode(t *testing.T, r storage.Repository, clock storage.Clock, auth *storage.EmailAuthentication) *storage.EmailAuthenticationCode {
	t.Helper()
	c, err := r.Registrations().AddEmailAuthenticationCode(t.Context(), clock, auth, unique("code"), time.Hour)
	require.NoError(t, err)
	return c
}

// mustPersonalSession starts a personal session owned by owner and acting
// as actor.
func mustPersonalSession(t *testing.T, r storage.Repository, clock storage.Clock, owner storage.PersonalSessionOwner, actor *storage.User) *storage.PersonalSession {
	t.Helper()
	s, err := r.PersonalSessions().Add(t.Context(), clock, owner, actor, unique("bot"), []string{"urn:matrix:client:api:*"})
	require.NoError(t, err)
	return s
}

// mustUserPersonalSession starts a personal session of a new user, owned by
// and acting as that user.
func mustUserPersonalSession(t *testing.T, r storage.Repository, clock storage.Clock) *storage.PersonalSession {
	t.Helper()
	u := mustUser(t, r, clock)
	return mustPersonalSession(t, r, clock, storage.PersonalSessionOwner{User: u}, u)
}

// mustPersonalToken issues s a unique token expiring after expiresIn (0:
// never); it returns the token's value and row.
func mustPersonalToken(t *testing.T, r storage.Repository, clock storage.Clock, s *storage.PersonalSession, expiresIn time.Duration) (string, *storage.PersonalAccessToken) {
	t.Helper()
	value := unique("mpt")
	tok, err := r.PersonalSessions().AddAccessToken(t.Context(), clock, s, value, expiresIn)
	require.NoError(t, err)
	return value, tok
}

// mustWorker registers a queue worker.
func mustWorker(t *testing.T, r storage.Repository, clock storage.Clock) *storage.Worker {
	t.Helper()
	w, err := r.Queue().RegisterWorker(t.Context(), clock)
	require.NoError(t, err)
	return w
}

// mustJob enqueues an available job on queue.
func mustJob(t *testing.T, r storage.Repository, clock storage.Clock, queue string) *storage.Job {
	t.Helper()
	j, err := r.Queue().Enqueue(t.Context(), clock, queue, json.RawMessage(`{"n":1}`))
	require.NoError(t, err)
	return j
}

// mustRunningJob enqueues a job on a queue of its own and reserves it for worker.
func mustRunningJob(t *testing.T, r storage.Repository, clock storage.Clock, worker *storage.Worker) *storage.Job {
	t.Helper()
	queue := unique("queue")
	j := mustJob(t, r, clock, queue)
	jobs, err := r.Queue().Reserve(t.Context(), clock, worker, []string{queue}, 1)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.Equal(t, j.ID, jobs[0].ID)
	return jobs[0]
}

// concurrently runs fn(0) ... fn(n-1) in n goroutines started together and
// returns their errors, by i.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// requireOneWinner checks that exactly one of errs is nil and every other
// wraps loser.
func requireOneWinner(t *testing.T, errs []error, loser error) {
	t.Helper()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		require.ErrorIs(t, err, loser)
	}
	require.Equal(t, 1, won, "exactly one call must succeed")
}
