package storage

import (
	"context"
	"time"

	"github.com/oklog/ulid/v2"
)

// BackchannelLogoutMode is what an upstream provider's back-channel logout
// finishes (MAS's on_backchannel_logout).
type BackchannelLogoutMode string

// The back-channel logout modes.
const (
	// LogoutDoNothing finishes nothing; the logout is only reported.
	LogoutDoNothing BackchannelLogoutMode = "do_nothing"
	// LogoutBrowserOnly finishes the browser sessions the upstream logins made.
	LogoutBrowserOnly BackchannelLogoutMode = "logout_browser_only"
	// LogoutAll also finishes the compat and OAuth 2.0 sessions of those
	// browser sessions.
	LogoutAll BackchannelLogoutMode = "logout_all"
)

// Valid reports whether m is one of the three modes.
func (m BackchannelLogoutMode) Valid() bool {
	return m == LogoutDoNothing || m == LogoutBrowserOnly || m == LogoutAll
}

// UpstreamOAuthProvider is an upstream OpenID Connect provider users log in with.
type UpstreamOAuthProvider struct {
	ID                  ulid.ULID
	Issuer              string
	HumanName           string
	ClientID            string
	Scope               string
	OnBackchannelLogout BackchannelLogoutMode
	CreatedAt           time.Time
}

// UpstreamOAuthLink ties a subject at a provider to a user (or to none yet,
// while a first login is in progress).
type UpstreamOAuthLink struct {
	ID         ulid.ULID
	ProviderID ulid.ULID
	UserID     ulid.ULID // zero until associated
	Subject    string
	CreatedAt  time.Time
}

// IDTokenClaims are the claims of an upstream ID token that back-channel
// logout matches on.
type IDTokenClaims struct {
	Sub string `json:"sub,omitempty"`
	Sid string `json:"sid,omitempty"`
}

// UpstreamOAuthSession is one login through an upstream provider.
type UpstreamOAuthSession struct {
	ID            ulid.ULID
	ProviderID    ulid.ULID
	LinkID        ulid.ULID // set on completion
	UserSessionID ulid.ULID // the browser session it logged into; zero until then
	State         string
	Nonce         string
	Claims        *IDTokenClaims // set on completion
	CreatedAt     time.Time
	CompletedAt   *time.Time
	ConsumedAt    *time.Time
}

// LogoutReport is what a back-channel logout found and finished.
type LogoutReport struct {
	// UpstreamSessions are the upstream logins whose ID token claims matched.
	UpstreamSessions []ulid.ULID
	// UserSessions are the browser sessions those logins made, finished ones
	// included.
	UserSessions []ulid.ULID
	// Finished* are the sessions this logout finished (already finished ones
	// are not repeated), by the provider's mode.
	FinishedUserSessions   []ulid.ULID
	FinishedCompatSessions []ulid.ULID
	FinishedOAuth2Sessions []ulid.ULID
}

// UpstreamOAuthRepository stores upstream providers, links and logins.
type UpstreamOAuthRepository interface {
	// AddProvider registers a provider under a new ID (provider.ID and
	// CreatedAt are ignored); an empty logout mode is LogoutDoNothing, an
	// unknown one ErrInvalidArgument.
	AddProvider(ctx context.Context, clock Clock, provider UpstreamOAuthProvider) (*UpstreamOAuthProvider, error)
	// LookupProvider returns the provider, or ErrNotFound.
	LookupProvider(ctx context.Context, id ulid.ULID) (*UpstreamOAuthProvider, error)
	// ListProviders returns every provider, oldest first.
	ListProviders(ctx context.Context) ([]*UpstreamOAuthProvider, error)

	// AddLink links subject at provider to user (nil: to no user yet). A
	// provider and subject already linked is ErrConflict; an empty subject
	// ErrInvalidArgument.
	AddLink(ctx context.Context, clock Clock, provider *UpstreamOAuthProvider, subject string, user *User) (*UpstreamOAuthLink, error)
	// AssociateLink ties a link to a user.
	AssociateLink(ctx context.Context, link *UpstreamOAuthLink, user *User) (*UpstreamOAuthLink, error)
	// LookupLink returns the link, or ErrNotFound.
	LookupLink(ctx context.Context, id ulid.ULID) (*UpstreamOAuthLink, error)
	// FindLink returns the link of subject at provider, or ErrNotFound.
	FindLink(ctx context.Context, provider *UpstreamOAuthProvider, subject string) (*UpstreamOAuthLink, error)

	// AddSession starts a login at provider; a state already used is ErrConflict.
	AddSession(ctx context.Context, clock Clock, provider *UpstreamOAuthProvider, state, nonce string) (*UpstreamOAuthSession, error)
	// LookupSession returns the login, or ErrNotFound.
	LookupSession(ctx context.Context, id ulid.ULID) (*UpstreamOAuthSession, error)
	// CompleteSession records the link and ID token claims of a login that
	// came back from the provider; twice is ErrInvalidState.
	CompleteSession(ctx context.Context, clock Clock, session *UpstreamOAuthSession, link *UpstreamOAuthLink, claims IDTokenClaims) (*UpstreamOAuthSession, error)
	// ConsumeSession marks a completed login used; twice is
	// ErrAlreadyFinished, before completion ErrInvalidState.
	ConsumeSession(ctx context.Context, clock Clock, session *UpstreamOAuthSession) (*UpstreamOAuthSession, error)

	// BackchannelLogout handles a logout token from provider: it finds every
	// login of that provider whose claims match sub and sid (an empty one
	// matches anything; both empty is ErrInvalidArgument), follows each to its
	// browser session, finished or not, and finishes what the provider's mode
	// says, in one transaction.
	BackchannelLogout(ctx context.Context, clock Clock, provider *UpstreamOAuthProvider, sub, sid string) (*LogoutReport, error)

	// CleanupOrphanedLinks deletes links created (ULID age) before `before`
	// that were never associated with a user, with their logins. See CleanupFunc.
	CleanupOrphanedLinks(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CleanupOrphanedSessions deletes logins created (ULID age) before
	// `before` whose browser session is unset (never completed, or already
	// cleaned up); authentications and registrations naming them are
	// unlinked. See CleanupFunc.
	CleanupOrphanedSessions(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
}
