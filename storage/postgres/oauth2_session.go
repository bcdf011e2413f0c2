package postgres

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// oauth2Clients is the storage.OAuth2ClientRepository.
type oauth2Clients struct{ ext sqlx.ExtContext }

const oauth2ClientColumns = `oauth2_client_id, client_name, redirect_uris, is_static, created_at`

func scanOAuth2Client(row rowScanner) (*storage.OAuth2Client, error) {
	var (
		c   storage.OAuth2Client
		uri []string
	)
	// created_at is nullable in MAS's schema (static clients); such a client
	// reads with its ULID's time.
	var created *time.Time
	err := row.Scan(idCol{&c.ID}, textCol{&c.Name}, pq.Array(&uri), &c.IsStatic, nullTimeCol{&created})
	if err != nil {
		return nil, translate(err)
	}
	c.RedirectURIs = uri
	if created != nil {
		c.CreatedAt = *created
	} else {
		c.CreatedAt = ulid.Time(c.ID.Time()).UTC()
	}
	return &c, nil
}

// Add registers a client allowed the authorization-code and refresh-token
// grants.
func (r oauth2Clients) Add(ctx context.Context, clock storage.Clock, name string, redirectURIs []string) (*storage.OAuth2Client, error) {
	return r.add(ctx, clock, name, redirectURIs, false)
}

// AddStatic registers a static client, as MAS does for the clients of its
// configuration.
func (r oauth2Clients) AddStatic(ctx context.Context, clock storage.Clock, name string, redirectURIs []string) (*storage.OAuth2Client, error) {
	return r.add(ctx, clock, name, redirectURIs, true)
}

func (r oauth2Clients) add(ctx context.Context, clock storage.Clock, name string, redirectURIs []string, static bool) (*storage.OAuth2Client, error) {
	now := storage.Now(clock)
	c := &storage.OAuth2Client{ID: ulidx.New(now), Name: name, RedirectURIs: redirectURIs, IsStatic: static, CreatedAt: now}
	uris := redirectURIs
	if uris == nil {
		uris = []string{}
	}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO oauth2_clients (oauth2_client_id, client_name, redirect_uris, created_at,
			grant_type_authorization_code, grant_type_refresh_token, is_static)
		VALUES ($1, $2, $3, $4, true, true, $5)`,
		key(c.ID), textArg(name), pq.Array(uris), now, static)
	if err != nil {
		return nil, fmt.Errorf("add OAuth 2.0 client %q: %w", name, translate(err))
	}
	return c, nil
}

// Lookup returns the client, or ErrNotFound.
func (r oauth2Clients) Lookup(ctx context.Context, id ulid.ULID) (*storage.OAuth2Client, error) {
	c, err := scanOAuth2Client(r.ext.QueryRowxContext(ctx,
		`SELECT `+oauth2ClientColumns+` FROM oauth2_clients WHERE oauth2_client_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup OAuth 2.0 client %s: %w", id, err)
	}
	return c, nil
}

// oauth2Sessions is the storage.OAuth2SessionRepository.
type oauth2Sessions struct{ ext sqlx.ExtContext }

const oauth2SessionColumns = `oauth2_session_id, oauth2_client_id, user_id, user_session_id, scope_list,
	created_at, finished_at, last_active_at, last_active_ip`

func scanOAuth2Session(row rowScanner) (*storage.OAuth2Session, error) {
	var (
		s     storage.OAuth2Session
		scope []string
	)
	err := row.Scan(idCol{&s.ID}, idCol{&s.ClientID}, idCol{&s.UserID}, idCol{&s.UserSessionID}, pq.Array(&scope),
		timeCol{&s.CreatedAt}, nullTimeCol{&s.FinishedAt}, nullTimeCol{&s.LastActiveAt}, ipCol{&s.LastActiveIP})
	if err != nil {
		return nil, translate(err)
	}
	s.Scope = scope
	return &s, nil
}

// Add starts a session of client; user and browser may be nil.
func (r oauth2Sessions) Add(ctx context.Context, clock storage.Clock, client *storage.OAuth2Client, user *storage.User, browser *storage.UserSession, scope []string) (*storage.OAuth2Session, error) {
	if client == nil {
		return nil, nilArg("add OAuth 2.0 session", "client")
	}
	now := storage.Now(clock)
	s := &storage.OAuth2Session{ID: ulidx.New(now), ClientID: client.ID, Scope: scope, CreatedAt: now}
	if user != nil {
		s.UserID = user.ID
	}
	if browser != nil {
		s.UserSessionID = browser.ID
	}
	list := scope
	if list == nil {
		list = []string{}
	}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, user_session_id, scope_list, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		key(s.ID), key(s.ClientID), ref(s.UserID), ref(s.UserSessionID), pq.Array(list), now)
	if err != nil {
		return nil, fmt.Errorf("add OAuth 2.0 session of client %s: %w", client.ID, translate(err))
	}
	return s, nil
}

// Lookup returns the session, or ErrNotFound.
func (r oauth2Sessions) Lookup(ctx context.Context, id ulid.ULID) (*storage.OAuth2Session, error) {
	s, err := scanOAuth2Session(r.ext.QueryRowxContext(ctx,
		`SELECT `+oauth2SessionColumns+` FROM oauth2_sessions WHERE oauth2_session_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup OAuth 2.0 session %s: %w", id, err)
	}
	return s, nil
}

// Finish marks the session finished.
func (r oauth2Sessions) Finish(ctx context.Context, clock storage.Clock, session *storage.OAuth2Session) (*storage.OAuth2Session, error) {
	if session == nil {
		return nil, nilArg("finish OAuth 2.0 session", "session")
	}
	s, err := scanOAuth2Session(r.ext.QueryRowxContext(ctx, `
		UPDATE oauth2_sessions SET finished_at = $1
		WHERE oauth2_session_id = $2 AND finished_at IS NULL
		RETURNING `+oauth2SessionColumns, storage.Now(clock), key(session.ID)))
	if err == nil {
		return s, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "oauth2_sessions", "oauth2_session_id", session.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("finish OAuth 2.0 session %s: %w", session.ID, err)
}

// RecordActivity sets the last active time, and the IP when ip is valid.
func (r oauth2Sessions) RecordActivity(ctx context.Context, clock storage.Clock, id ulid.ULID, ip netip.Addr) error {
	return recordActivity(ctx, r.ext, "oauth2_sessions", "oauth2_session_id", "OAuth 2.0 session", clock, id, ip)
}

// finishedOAuth2Sessions deletes finished sessions with their refresh
// tokens, access tokens and authorization grants (all NO ACTION);
// device-code grants go by cascade.
var finishedOAuth2Sessions = finishedSessionQueries("oauth2_sessions", "oauth2_session_id",
	"oauth2_refresh_tokens", "oauth2_access_tokens", "oauth2_authorization_grants")

// CleanupFinished deletes sessions finished before `before`.
func (r oauth2Sessions) CleanupFinished(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clean up finished OAuth 2.0 sessions", finishedOAuth2Sessions.batch, after, before, limit)
}

// FinishedWindow reads the candidates of CleanupFinished.
func (r oauth2Sessions) FinishedWindow(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Window, error) {
	return timeWindow(ctx, r.ext, "read finished OAuth 2.0 sessions", finishedOAuth2Sessions.window, after, before, limit)
}

// DeleteFinished deletes those of ids that are sessions finished before `before`.
func (r oauth2Sessions) DeleteFinished(ctx context.Context, ids []ulid.ULID, before time.Time) (int, error) {
	return deleteByID(ctx, r.ext, "delete finished OAuth 2.0 sessions", finishedOAuth2Sessions.byID, ids, before)
}

// ClearInactiveIPs nulls the IP of sessions last active before `before`.
func (r oauth2Sessions) ClearInactiveIPs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clear inactive OAuth 2.0 session IPs", clearIPsQuery("oauth2_sessions", "oauth2_session_id"), after, before, limit)
}

// CountStaleIPs counts sessions holding an IP, last active before `before`.
func (r oauth2Sessions) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return count(ctx, r.ext, "count stale OAuth 2.0 session IPs", countStaleIPsQuery("oauth2_sessions"), storage.Horizon(before))
}
