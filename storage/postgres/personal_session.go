package postgres

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// personalSessions is the storage.PersonalSessionRepository.
type personalSessions struct{ ext sqlx.ExtContext }

const personalSessionColumns = `personal_session_id, owner_user_id, owner_oauth2_client_id, actor_user_id,
	human_name, scope_list, created_at, revoked_at, last_active_at, last_active_ip`

func scanPersonalSession(row rowScanner) (*storage.PersonalSession, error) {
	var (
		s     storage.PersonalSession
		scope []string
	)
	err := row.Scan(idCol{&s.ID}, idCol{&s.OwnerUserID}, idCol{&s.OwnerClientID}, idCol{&s.ActorUserID},
		&s.HumanName, pq.Array(&scope), timeCol{&s.CreatedAt}, nullTimeCol{&s.RevokedAt},
		nullTimeCol{&s.LastActiveAt}, ipCol{&s.LastActiveIP})
	if err != nil {
		return nil, translate(err)
	}
	s.Scope = scope
	return &s, nil
}

const personalTokenColumns = `personal_access_token_id, personal_session_id, access_token_sha256, created_at, expires_at, revoked_at`

func scanPersonalToken(row rowScanner) (*storage.PersonalAccessToken, error) {
	var (
		t    storage.PersonalAccessToken
		hash []byte
	)
	err := row.Scan(idCol{&t.ID}, idCol{&t.SessionID}, &hash, timeCol{&t.CreatedAt}, nullTimeCol{&t.ExpiresAt}, nullTimeCol{&t.RevokedAt})
	if err != nil {
		return nil, translate(err)
	}
	copy(t.SHA256[:], hash)
	return &t, nil
}

// ownerIDs checks that exactly one owner is set and returns its IDs.
func ownerIDs(op string, owner storage.PersonalSessionOwner) (user, client ulid.ULID, err error) {
	switch {
	case owner.User != nil && owner.Client == nil:
		return owner.User.ID, ulid.ULID{}, nil
	case owner.User == nil && owner.Client != nil:
		return ulid.ULID{}, owner.Client.ID, nil
	}
	return ulid.ULID{}, ulid.ULID{}, fmt.Errorf("%s: the owner must be a user or a client, exactly one: %w", op, storage.ErrInvalidArgument)
}

// Add starts a personal session.
func (r personalSessions) Add(ctx context.Context, clock storage.Clock, owner storage.PersonalSessionOwner, actor *storage.User, humanName string, scope []string) (*storage.PersonalSession, error) {
	const op = "add personal session"
	userID, clientID, err := ownerIDs(op, owner)
	if err != nil {
		return nil, err
	}
	if actor == nil {
		return nil, nilArg(op, "actor")
	}
	if humanName == "" {
		return nil, fmt.Errorf("%s: empty name: %w", op, storage.ErrInvalidArgument)
	}
	list := scope
	if list == nil {
		list = []string{}
	}
	now := storage.Now(clock)
	s, err := scanPersonalSession(r.ext.QueryRowxContext(ctx, `
		INSERT INTO personal_sessions (personal_session_id, owner_user_id, owner_oauth2_client_id, actor_user_id, human_name, scope_list, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING `+personalSessionColumns,
		key(ulidx.New(now)), ref(userID), ref(clientID), key(actor.ID), humanName, pq.Array(list), now))
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", op, humanName, err)
	}
	return s, nil
}

// Lookup returns the session.
func (r personalSessions) Lookup(ctx context.Context, id ulid.ULID) (*storage.PersonalSession, error) {
	s, err := scanPersonalSession(r.ext.QueryRowxContext(ctx,
		`SELECT `+personalSessionColumns+` FROM personal_sessions WHERE personal_session_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("look up personal session %s: %w", id, err)
	}
	return s, nil
}

// ListByOwner returns the owner's sessions, oldest first.
func (r personalSessions) ListByOwner(ctx context.Context, owner storage.PersonalSessionOwner) ([]*storage.PersonalSession, error) {
	userID, clientID, err := ownerIDs("list personal sessions", owner)
	if err != nil {
		return nil, err
	}
	rows, err := r.ext.QueryxContext(ctx, `SELECT `+personalSessionColumns+` FROM personal_sessions
		WHERE owner_user_id = $1 OR owner_oauth2_client_id = $2
		ORDER BY personal_session_id`, ref(userID), ref(clientID))
	if err != nil {
		return nil, fmt.Errorf("list personal sessions: %w", translate(err))
	}
	return scanAll(rows, scanPersonalSession)
}

// Revoke revokes the session and its live token, in one statement.
func (r personalSessions) Revoke(ctx context.Context, clock storage.Clock, session *storage.PersonalSession) (*storage.PersonalSession, error) {
	if session == nil {
		return nil, nilArg("revoke personal session", "session")
	}
	now := storage.Now(clock)
	s, err := scanPersonalSession(r.ext.QueryRowxContext(ctx, `
		WITH tokens AS (
			UPDATE personal_access_tokens SET revoked_at = $1
			WHERE personal_session_id = $2 AND revoked_at IS NULL
		)
		UPDATE personal_sessions SET revoked_at = $1
		WHERE personal_session_id = $2 AND revoked_at IS NULL
		RETURNING `+personalSessionColumns, now, key(session.ID)))
	if err == nil {
		return s, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "personal_sessions", "personal_session_id", session.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("revoke personal session %s: %w", session.ID, err)
}

// RecordActivity sets the last active time, and the IP when ip is valid.
func (r personalSessions) RecordActivity(ctx context.Context, clock storage.Clock, id ulid.ULID, ip netip.Addr) error {
	return recordActivity(ctx, r.ext, "personal_sessions", "personal_session_id", "personal session", clock, id, ip)
}

// AddAccessToken issues the session a token, revoking its live one, in one
// transaction; the session row is locked first so that concurrent issues
// follow each other.
func (r personalSessions) AddAccessToken(ctx context.Context, clock storage.Clock, session *storage.PersonalSession, token string, expiresIn time.Duration) (*storage.PersonalAccessToken, error) {
	const op = "add personal access token"
	if session == nil {
		return nil, nilArg(op, "session")
	}
	if token == "" {
		return nil, fmt.Errorf("%s: empty token: %w", op, storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	hash := sha256.Sum256([]byte(token))
	var t *storage.PersonalAccessToken
	err := atomically(ctx, r.ext, func(ext sqlx.ExtContext) error {
		var revoked bool
		if err := ext.QueryRowxContext(ctx, `SELECT revoked_at IS NOT NULL FROM personal_sessions WHERE personal_session_id = $1 FOR UPDATE`,
			key(session.ID)).Scan(&revoked); err != nil {
			return translate(err)
		}
		if revoked {
			return fmt.Errorf("session revoked: %w", storage.ErrInvalidState)
		}
		if _, err := ext.ExecContext(ctx, `UPDATE personal_access_tokens SET revoked_at = $1
			WHERE personal_session_id = $2 AND revoked_at IS NULL`, now, key(session.ID)); err != nil {
			return translate(err)
		}
		var err error
		t, err = scanPersonalToken(ext.QueryRowxContext(ctx, `
			INSERT INTO personal_access_tokens (personal_access_token_id, personal_session_id, access_token_sha256, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)
			RETURNING `+personalTokenColumns, key(ulidx.New(now)), key(session.ID), hash[:], now, expiry(now, expiresIn)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s for personal session %s: %w", op, session.ID, err)
	}
	return t, nil
}

// LookupAccessToken returns the token with that ID.
func (r personalSessions) LookupAccessToken(ctx context.Context, id ulid.ULID) (*storage.PersonalAccessToken, error) {
	t, err := scanPersonalToken(r.ext.QueryRowxContext(ctx,
		`SELECT `+personalTokenColumns+` FROM personal_access_tokens WHERE personal_access_token_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("look up personal access token %s: %w", id, err)
	}
	return t, nil
}

// FindAccessToken returns the token with that value if it may authenticate.
func (r personalSessions) FindAccessToken(ctx context.Context, clock storage.Clock, token string) (*storage.PersonalAccessToken, error) {
	const op = "find personal access token"
	hash := sha256.Sum256([]byte(token))
	var sessionRevoked bool
	cols := `t.personal_access_token_id, t.personal_session_id, t.access_token_sha256, t.created_at, t.expires_at, t.revoked_at`
	row := r.ext.QueryRowxContext(ctx, `SELECT `+cols+`, s.revoked_at IS NOT NULL
		FROM personal_access_tokens t JOIN personal_sessions s USING (personal_session_id)
		WHERE t.access_token_sha256 = $1`, hash[:])
	var (
		t   storage.PersonalAccessToken
		raw []byte
	)
	if err := row.Scan(idCol{&t.ID}, idCol{&t.SessionID}, &raw, timeCol{&t.CreatedAt}, nullTimeCol{&t.ExpiresAt}, nullTimeCol{&t.RevokedAt}, &sessionRevoked); err != nil {
		return nil, fmt.Errorf("%s: %w", op, translate(err))
	}
	copy(t.SHA256[:], raw)
	now := storage.Now(clock)
	switch { // a revoked session revoked its token too: say why
	case sessionRevoked:
		return nil, fmt.Errorf("%s %s: session revoked: %w", op, t.ID, storage.ErrInvalidState)
	case t.RevokedAt != nil:
		return nil, fmt.Errorf("%s %s: revoked: %w", op, t.ID, storage.ErrInvalidState)
	case t.ExpiresAt != nil && !t.ExpiresAt.After(now):
		return nil, fmt.Errorf("%s %s: expired: %w", op, t.ID, storage.ErrInvalidState)
	}
	return &t, nil
}

// RevokeAccessToken revokes the token.
func (r personalSessions) RevokeAccessToken(ctx context.Context, clock storage.Clock, token *storage.PersonalAccessToken) (*storage.PersonalAccessToken, error) {
	if token == nil {
		return nil, nilArg("revoke personal access token", "token")
	}
	t, err := scanPersonalToken(r.ext.QueryRowxContext(ctx, `
		UPDATE personal_access_tokens SET revoked_at = $1
		WHERE personal_access_token_id = $2 AND revoked_at IS NULL
		RETURNING `+personalTokenColumns, storage.Now(clock), key(token.ID)))
	if err == nil {
		return t, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "personal_access_tokens", "personal_access_token_id", token.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("revoke personal access token %s: %w", token.ID, err)
}

// revokedQuery returns the statement deleting table's rows revoked before
// $1, in (revoked_at, id) order after ($2, $3), at most $4, with the
// personal access tokens of the candidates when withTokens.
func revokedQuery(table, idColumn string, withTokens bool) string {
	tokens := ""
	if withTokens {
		tokens = `, deleted_tokens AS (
	DELETE FROM personal_access_tokens WHERE personal_session_id = ANY (ARRAY(SELECT id FROM candidates))
)`
	}
	return `
WITH candidates AS MATERIALIZED (
	SELECT ctid AS tid, ` + idColumn + ` AS id, revoked_at AS t FROM ` + table + `
	WHERE revoked_at IS NOT NULL AND revoked_at < $1 AND (revoked_at, ` + idColumn + `) > ($2, $3)
	ORDER BY revoked_at, ` + idColumn + `
	LIMIT $4
	FOR UPDATE SKIP LOCKED
)` + tokens + `, deleted AS (
	DELETE FROM ` + table + ` WHERE ctid = ANY (ARRAY(SELECT tid FROM candidates))
	RETURNING 1
)` + cleanupResult
}

var (
	cleanupRevokedPersonalSessions = revokedQuery("personal_sessions", "personal_session_id", true)
	cleanupRevokedPersonalTokens   = revokedQuery("personal_access_tokens", "personal_access_token_id", false)
)

// CleanupRevoked deletes sessions revoked before `before`, with their tokens.
func (r personalSessions) CleanupRevoked(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clean up revoked personal sessions", cleanupRevokedPersonalSessions, after, before, limit)
}

// CleanupRevokedAccessTokens deletes tokens revoked before `before`.
func (r personalSessions) CleanupRevokedAccessTokens(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clean up revoked personal access tokens", cleanupRevokedPersonalTokens, after, before, limit)
}

// ClearInactiveIPs nulls the IP of sessions last active before `before`.
func (r personalSessions) ClearInactiveIPs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clear inactive personal session IPs", clearIPsQuery("personal_sessions", "personal_session_id"), after, before, limit)
}

// CountStaleIPs counts sessions holding an IP, last active before `before`.
func (r personalSessions) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return count(ctx, r.ext, "count stale personal session IPs", countStaleIPsQuery("personal_sessions"), storage.Horizon(before))
}
