package storage

import (
	"context"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"
)

// UserSession is a browser session: what a user logs in to, and what the
// compat and OAuth 2.0 sessions created from it point at.
type UserSession struct {
	ID           ulid.ULID
	UserID       ulid.ULID
	UserAgent    string
	CreatedAt    time.Time
	FinishedAt   *time.Time
	LastActiveAt *time.Time
	// LastActiveIP is invalid (the zero netip.Addr) when none is recorded.
	LastActiveIP netip.Addr
}

// Authentication records how a browser session was authenticated: with a
// password, or through an upstream OAuth 2.0 login.
type Authentication struct {
	ID                ulid.ULID
	UserSessionID     ulid.ULID
	UserPasswordID    ulid.ULID // zero when not a password
	UpstreamSessionID ulid.ULID // zero when not an upstream login
	CreatedAt         time.Time
}

// UserSessionRepository stores browser sessions and their authentications.
type UserSessionRepository interface {
	// Add starts a browser session for the user.
	Add(ctx context.Context, clock Clock, user *User, userAgent string) (*UserSession, error)
	// Lookup returns the session, finished or not, or ErrNotFound.
	Lookup(ctx context.Context, id ulid.ULID) (*UserSession, error)
	// ListByUser returns the user's sessions, finished ones included, oldest
	// first; none (and no error) for an unknown user.
	ListByUser(ctx context.Context, userID ulid.ULID) ([]*UserSession, error)
	// Finish marks the session finished; finishing twice is ErrAlreadyFinished.
	Finish(ctx context.Context, clock Clock, session *UserSession) (*UserSession, error)
	// RecordActivity sets the last active time to clock's and the IP (an
	// invalid ip leaves the recorded one).
	RecordActivity(ctx context.Context, clock Clock, id ulid.ULID, ip netip.Addr) error
	// AuthenticateWithPassword records a password authentication of an
	// unfinished session (a finished one is ErrInvalidState).
	AuthenticateWithPassword(ctx context.Context, clock Clock, session *UserSession, password *UserPassword) (*Authentication, error)
	// AuthenticateWithUpstream records an authentication of an unfinished
	// session through an upstream login (an unknown login is ErrNotFound) and
	// links that login to the session (its UserSessionID is set if still
	// unset), whether or not the database trigger does it too.
	AuthenticateWithUpstream(ctx context.Context, clock Clock, session *UserSession, upstream *UpstreamOAuthSession) (*Authentication, error)
	// ListAuthentications returns the session's authentications, oldest
	// first; none (and no error) for a session that does not exist.
	ListAuthentications(ctx context.Context, sessionID ulid.ULID) ([]*Authentication, error)

	// CleanupFinished deletes sessions finished before `before` that no compat
	// and no OAuth 2.0 session references (those are skipped, so that a
	// back-channel logout can still reach their children), ordered by ID
	// (the Cursor's Time stays zero). With each it deletes its authentications and SSO
	// logins; upstream sessions, grants and email authentications pointing at
	// it are unlinked (nulled). See CleanupFunc.
	CleanupFinished(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// ClearInactiveIPs nulls the IP of sessions last active before `before`,
	// ordered by (last_active_at, id). See CleanupFunc.
	ClearInactiveIPs(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CountStaleIPs counts sessions holding an IP, last active before `before`.
	CountStaleIPs(ctx context.Context, before time.Time) (int, error)
	// ExpireInactive finishes unfinished sessions last active before
	// `before` (their compat and OAuth 2.0 sessions are left as they are).
	// See ExpireFunc.
	ExpireInactive(ctx context.Context, clock Clock, after Cursor, before time.Time, limit int) (Batch, []ulid.ULID, error)
}
