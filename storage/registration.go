package storage

import (
	"context"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"
)

// Registration is a new-account flow in progress.
type Registration struct {
	ID                    ulid.ULID
	Username              string
	IPAddress             netip.Addr
	UserAgent             string
	CreatedAt             time.Time
	CompletedAt           *time.Time
	EmailAuthenticationID ulid.ULID // zero when none
	UpstreamSessionID     ulid.ULID // the upstream login it came from; zero when none
}

// EmailAuthentication proves control of an email address, during a
// registration or from a browser session.
type EmailAuthentication struct {
	ID             ulid.ULID
	Email          string
	UserSessionID  ulid.ULID // zero when for a registration
	RegistrationID ulid.ULID // zero when for a browser session
	CreatedAt      time.Time
	CompletedAt    *time.Time
}

// EmailAuthenticationCode is a code mailed for an email authentication.
type EmailAuthenticationCode struct {
	ID               ulid.ULID
	AuthenticationID ulid.ULID
	Code             string
	CreatedAt        time.Time
	ExpiresAt        time.Time
}

// RegistrationRepository stores registrations and email authentications.
type RegistrationRepository interface {
	// Add starts a registration.
	Add(ctx context.Context, clock Clock, username string, ip netip.Addr, userAgent string) (*Registration, error)
	// Lookup returns the registration, or ErrNotFound.
	Lookup(ctx context.Context, id ulid.ULID) (*Registration, error)
	// SetEmailAuthentication records the email authentication of the registration.
	SetEmailAuthentication(ctx context.Context, registration *Registration, auth *EmailAuthentication) (*Registration, error)
	// SetUpstreamSession records the upstream login the registration came from.
	SetUpstreamSession(ctx context.Context, registration *Registration, upstream *UpstreamOAuthSession) (*Registration, error)
	// Complete marks it completed; twice is ErrAlreadyFinished.
	Complete(ctx context.Context, clock Clock, registration *Registration) (*Registration, error)

	// AddEmailAuthentication starts an email authentication for a browser
	// session or a registration (exactly one of them not nil, else
	// ErrInvalidArgument).
	AddEmailAuthentication(ctx context.Context, clock Clock, email string, browser *UserSession, registration *Registration) (*EmailAuthentication, error)
	// LookupEmailAuthentication returns it, or ErrNotFound.
	LookupEmailAuthentication(ctx context.Context, id ulid.ULID) (*EmailAuthentication, error)
	// AddEmailAuthenticationCode adds a code expiring after expiresIn; a code
	// already used for that authentication is ErrConflict.
	AddEmailAuthenticationCode(ctx context.Context, clock Clock, auth *EmailAuthentication, code string, expiresIn time.Duration) (*EmailAuthenticationCode, error)
	// CompleteEmailAuthentication completes it with one of its unexpired
	// codes (a code expires at its ExpiresAt; another code is ErrNotFound,
	// an expired one ErrInvalidState); twice is ErrAlreadyFinished.
	CompleteEmailAuthentication(ctx context.Context, clock Clock, auth *EmailAuthentication, code string) (*EmailAuthentication, error)

	// CleanupRegistrations deletes registrations created (ULID age) before
	// `before`, with their email authentications. See CleanupFunc.
	CleanupRegistrations(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CleanupEmailAuthentications deletes email authentications created
	// (ULID age) before `before`, with their codes; registrations naming one
	// are unlinked. See CleanupFunc.
	CleanupEmailAuthentications(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CountStaleIPs counts registrations holding an IP, created before `before`.
	CountStaleIPs(ctx context.Context, before time.Time) (int, error)
}
