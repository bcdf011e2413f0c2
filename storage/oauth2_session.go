package storage

import (
	"context"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"
)

// OAuth2Client is a registered OAuth 2.0 client.
type OAuth2Client struct {
	ID           ulid.ULID
	Name         string
	RedirectURIs []string
	// IsStatic is true for a client from the server's configuration rather
	// than one registered through the API.
	IsStatic  bool
	CreatedAt time.Time
}

// OAuth2Session is a session of an OAuth 2.0 client, on behalf of a user
// (or of none, for client credentials).
type OAuth2Session struct {
	ID            ulid.ULID
	ClientID      ulid.ULID
	UserID        ulid.ULID // zero when none
	UserSessionID ulid.ULID // the browser session it came from; zero when none
	Scope         []string
	CreatedAt     time.Time
	FinishedAt    *time.Time
	LastActiveAt  *time.Time
	LastActiveIP  netip.Addr
}

// OAuth2ClientRepository stores OAuth 2.0 clients.
type OAuth2ClientRepository interface {
	// Add registers a client.
	Add(ctx context.Context, clock Clock, name string, redirectURIs []string) (*OAuth2Client, error)
	// AddStatic registers a static client (IsStatic true), one from the
	// server's configuration.
	AddStatic(ctx context.Context, clock Clock, name string, redirectURIs []string) (*OAuth2Client, error)
	// Lookup returns the client, or ErrNotFound.
	Lookup(ctx context.Context, id ulid.ULID) (*OAuth2Client, error)
}

// OAuth2SessionRepository stores OAuth 2.0 sessions.
type OAuth2SessionRepository interface {
	// Add starts a session of client; user and browser may be nil.
	Add(ctx context.Context, clock Clock, client *OAuth2Client, user *User, browser *UserSession, scope []string) (*OAuth2Session, error)
	// Lookup returns the session, or ErrNotFound.
	Lookup(ctx context.Context, id ulid.ULID) (*OAuth2Session, error)
	// Finish marks the session finished; finishing twice is ErrAlreadyFinished.
	Finish(ctx context.Context, clock Clock, session *OAuth2Session) (*OAuth2Session, error)
	// RecordActivity sets the last active time to clock's and the IP (an
	// invalid ip leaves the recorded one).
	RecordActivity(ctx context.Context, clock Clock, id ulid.ULID, ip netip.Addr) error

	// CleanupFinished deletes sessions finished before `before`, ordered by
	// (finished_at, id), with their access and refresh tokens, authorization
	// grants and device-code grants. See CleanupFunc.
	CleanupFinished(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// FinishedWindow reads the candidates of CleanupFinished. See WindowFunc.
	FinishedWindow(ctx context.Context, after Cursor, before time.Time, limit int) (Window, error)
	// DeleteFinished deletes those of ids that are sessions finished before
	// `before`, as CleanupFinished does. See DeleteFunc.
	DeleteFinished(ctx context.Context, ids []ulid.ULID, before time.Time) (int, error)
	// ClearInactiveIPs nulls the IP of sessions last active before `before`,
	// ordered by (last_active_at, id). See CleanupFunc.
	ClearInactiveIPs(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CountStaleIPs counts sessions holding an IP, last active before `before`.
	CountStaleIPs(ctx context.Context, before time.Time) (int, error)
	// ExpireInactive finishes unfinished sessions of a user (not those
	// without one) last active before `before`, whose client is not static.
	// See ExpireFunc.
	ExpireInactive(ctx context.Context, clock Clock, after Cursor, before time.Time, limit int) (Batch, []ulid.ULID, error)
}
