package storage

import (
	"context"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"
)

// PersonalSession is a long-lived session for a script or a bot. It is owned
// by a user or by an OAuth 2.0 client (exactly one) and acts as ActorUserID.
// Revoking it ends it.
type PersonalSession struct {
	ID            ulid.ULID
	OwnerUserID   ulid.ULID // zero when a client owns it
	OwnerClientID ulid.ULID // zero when a user owns it
	ActorUserID   ulid.ULID
	HumanName     string
	Scope         []string
	CreatedAt     time.Time
	RevokedAt     *time.Time
	LastActiveAt  *time.Time
	// LastActiveIP is invalid (the zero netip.Addr) when none is recorded.
	LastActiveIP netip.Addr
}

// PersonalAccessToken is a token of a personal session. Only the SHA-256 of
// the token is stored; at most one token of a session is not revoked.
type PersonalAccessToken struct {
	ID        ulid.ULID
	SessionID ulid.ULID
	SHA256    [32]byte
	CreatedAt time.Time
	ExpiresAt *time.Time // nil: never
	RevokedAt *time.Time
}

// PersonalSessionOwner is who owns a personal session: a user or an OAuth 2.0
// client, exactly one of the two.
type PersonalSessionOwner struct {
	User   *User
	Client *OAuth2Client
}

// PersonalSessionRepository stores personal sessions and their access tokens.
type PersonalSessionRepository interface {
	// Add starts a personal session owned by owner (exactly one of its
	// fields set, else ErrInvalidArgument) acting as actor (not nil). An
	// empty humanName is ErrInvalidArgument; an owner or actor that does
	// not exist ErrNotFound.
	Add(ctx context.Context, clock Clock, owner PersonalSessionOwner, actor *User, humanName string, scope []string) (*PersonalSession, error)
	// Lookup returns the session, or ErrNotFound.
	Lookup(ctx context.Context, id ulid.ULID) (*PersonalSession, error)
	// ListByOwner returns the owner's sessions, revoked ones included,
	// oldest first.
	ListByOwner(ctx context.Context, owner PersonalSessionOwner) ([]*PersonalSession, error)
	// Revoke marks the session revoked and, in the same transaction, its
	// live access token; revoking twice is ErrAlreadyFinished.
	Revoke(ctx context.Context, clock Clock, session *PersonalSession) (*PersonalSession, error)
	// RecordActivity sets the last active time to clock's and the IP (an
	// invalid ip leaves the recorded one).
	RecordActivity(ctx context.Context, clock Clock, id ulid.ULID, ip netip.Addr) error

	// AddAccessToken issues the session a token, expiring after expiresIn
	// (0: never), and stores only its SHA-256. The session's live token, if
	// any, is revoked in the same transaction. An empty token is
	// ErrInvalidArgument, a revoked session ErrInvalidState, a token whose
	// hash is taken ErrConflict.
	AddAccessToken(ctx context.Context, clock Clock, session *PersonalSession, token string, expiresIn time.Duration) (*PersonalAccessToken, error)
	// LookupAccessToken returns the token with that ID, whatever its state,
	// or ErrNotFound.
	LookupAccessToken(ctx context.Context, id ulid.ULID) (*PersonalAccessToken, error)
	// FindAccessToken returns the token with that value if it may
	// authenticate at clock's time: an unknown token is ErrNotFound; a
	// revoked or expired one, or one whose session is revoked, is
	// ErrInvalidState, with a message that says which.
	FindAccessToken(ctx context.Context, clock Clock, token string) (*PersonalAccessToken, error)
	// RevokeAccessToken marks the token revoked; twice is ErrAlreadyFinished.
	RevokeAccessToken(ctx context.Context, clock Clock, token *PersonalAccessToken) (*PersonalAccessToken, error)

	// CleanupRevoked deletes sessions revoked before `before`, ordered by
	// (revoked_at, id), with their access tokens. See CleanupFunc.
	CleanupRevoked(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CleanupRevokedAccessTokens deletes access tokens revoked before
	// `before`, ordered by (revoked_at, id). See CleanupFunc.
	CleanupRevokedAccessTokens(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// ClearInactiveIPs nulls the IP of sessions last active before `before`,
	// ordered by (last_active_at, id). See CleanupFunc.
	ClearInactiveIPs(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CountStaleIPs counts sessions holding an IP, last active before `before`.
	CountStaleIPs(ctx context.Context, before time.Time) (int, error)
}
