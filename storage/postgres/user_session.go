package postgres

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// userSessions is the storage.UserSessionRepository.
type userSessions struct{ ext sqlx.ExtContext }

const userSessionColumns = `user_session_id, user_id, user_agent, created_at, finished_at, last_active_at, last_active_ip`

func scanUserSession(row rowScanner) (*storage.UserSession, error) {
	var s storage.UserSession
	err := row.Scan(idCol{&s.ID}, idCol{&s.UserID}, textCol{&s.UserAgent}, timeCol{&s.CreatedAt},
		nullTimeCol{&s.FinishedAt}, nullTimeCol{&s.LastActiveAt}, ipCol{&s.LastActiveIP})
	if err != nil {
		return nil, translate(err)
	}
	return &s, nil
}

const authenticationColumns = `user_session_authentication_id, user_session_id, user_password_id, upstream_oauth_authorization_session_id, created_at`

func scanAuthentication(row rowScanner) (*storage.Authentication, error) {
	var a storage.Authentication
	err := row.Scan(idCol{&a.ID}, idCol{&a.UserSessionID}, idCol{&a.UserPasswordID},
		idCol{&a.UpstreamSessionID}, timeCol{&a.CreatedAt})
	if err != nil {
		return nil, translate(err)
	}
	return &a, nil
}

// Add starts a browser session for the user.
func (r userSessions) Add(ctx context.Context, clock storage.Clock, user *storage.User, userAgent string) (*storage.UserSession, error) {
	if user == nil {
		return nil, nilArg("add browser session", "user")
	}
	now := storage.Now(clock)
	s := &storage.UserSession{ID: ulidx.New(now), UserID: user.ID, UserAgent: userAgent, CreatedAt: now}
	_, err := r.ext.ExecContext(ctx,
		`INSERT INTO user_sessions (user_session_id, user_id, user_agent, created_at) VALUES ($1, $2, $3, $4)`,
		key(s.ID), key(s.UserID), textArg(userAgent), now)
	if err != nil {
		return nil, fmt.Errorf("add browser session of user %s: %w", user.ID, translate(err))
	}
	return s, nil
}

// Lookup returns the session, finished or not, or ErrNotFound.
func (r userSessions) Lookup(ctx context.Context, id ulid.ULID) (*storage.UserSession, error) {
	s, err := scanUserSession(r.ext.QueryRowxContext(ctx,
		`SELECT `+userSessionColumns+` FROM user_sessions WHERE user_session_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup browser session %s: %w", id, err)
	}
	return s, nil
}

// ListByUser returns the user's sessions, oldest first.
func (r userSessions) ListByUser(ctx context.Context, userID ulid.ULID) ([]*storage.UserSession, error) {
	rows, err := r.ext.QueryxContext(ctx, `
		SELECT `+userSessionColumns+` FROM user_sessions WHERE user_id = $1
		ORDER BY created_at, user_session_id`, key(userID))
	if err != nil {
		return nil, fmt.Errorf("list browser sessions of user %s: %w", userID, translate(err))
	}
	list, err := scanAll(rows, scanUserSession)
	if err != nil {
		return nil, fmt.Errorf("list browser sessions of user %s: %w", userID, err)
	}
	return list, nil
}

// Finish marks the session finished.
func (r userSessions) Finish(ctx context.Context, clock storage.Clock, session *storage.UserSession) (*storage.UserSession, error) {
	if session == nil {
		return nil, nilArg("finish browser session", "session")
	}
	s, err := scanUserSession(r.ext.QueryRowxContext(ctx, `
		UPDATE user_sessions SET finished_at = $1
		WHERE user_session_id = $2 AND finished_at IS NULL
		RETURNING `+userSessionColumns, storage.Now(clock), key(session.ID)))
	if err == nil {
		return s, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "user_sessions", "user_session_id", session.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("finish browser session %s: %w", session.ID, err)
}

// RecordActivity sets the last active time, and the IP when ip is valid.
func (r userSessions) RecordActivity(ctx context.Context, clock storage.Clock, id ulid.ULID, ip netip.Addr) error {
	return recordActivity(ctx, r.ext, "user_sessions", "user_session_id", "browser session", clock, id, ip)
}

// recordActivity sets a session's last active time and, when ip is valid,
// its IP.
func recordActivity(ctx context.Context, ext sqlx.ExtContext, table, idColumn, what string, clock storage.Clock, id ulid.ULID, ip netip.Addr) error {
	res, err := ext.ExecContext(ctx, `
		UPDATE `+table+` SET last_active_at = $1, last_active_ip = COALESCE($2::inet, last_active_ip)
		WHERE `+idColumn+` = $3`, storage.Now(clock), ipArg(ip), key(id))
	if err != nil {
		return fmt.Errorf("record activity of %s %s: %w", what, id, translate(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("record activity of %s %s: %w", what, id, err)
	} else if n == 0 {
		return fmt.Errorf("record activity of %s %s: %w", what, id, storage.ErrNotFound)
	}
	return nil
}

// AuthenticateWithPassword records a password authentication of an
// unfinished session.
func (r userSessions) AuthenticateWithPassword(ctx context.Context, clock storage.Clock, session *storage.UserSession, password *storage.UserPassword) (*storage.Authentication, error) {
	if session == nil {
		return nil, nilArg("authenticate browser session", "session")
	}
	if password == nil {
		return nil, fmt.Errorf("authenticate browser session %s: no password: %w", session.ID, storage.ErrInvalidArgument)
	}
	a, err := r.authenticate(ctx, clock, session, password.ID, ulid.ULID{})
	if err != nil {
		return nil, fmt.Errorf("authenticate browser session %s with password %s: %w", session.ID, password.ID, err)
	}
	return a, nil
}

// AuthenticateWithUpstream records an authentication through an upstream
// login and links the login to the session if it is not linked yet, in the
// same statement (the trigger of migration 0015, when present, then finds
// it linked already).
func (r userSessions) AuthenticateWithUpstream(ctx context.Context, clock storage.Clock, session *storage.UserSession, upstream *storage.UpstreamOAuthSession) (*storage.Authentication, error) {
	if session == nil {
		return nil, nilArg("authenticate browser session", "session")
	}
	if upstream == nil {
		return nil, fmt.Errorf("authenticate browser session %s: no upstream login: %w", session.ID, storage.ErrInvalidArgument)
	}
	a, err := r.authenticate(ctx, clock, session, ulid.ULID{}, upstream.ID)
	if err != nil {
		return nil, fmt.Errorf("authenticate browser session %s with upstream login %s: %w", session.ID, upstream.ID, err)
	}
	return a, nil
}

func (r userSessions) authenticate(ctx context.Context, clock storage.Clock, session *storage.UserSession, passwordID, upstreamID ulid.ULID) (*storage.Authentication, error) {
	now := storage.Now(clock)
	a, err := scanAuthentication(r.ext.QueryRowxContext(ctx, `
		WITH a AS (
			INSERT INTO user_session_authentications
				(user_session_authentication_id, user_session_id, user_password_id, upstream_oauth_authorization_session_id, created_at)
			SELECT $1, user_session_id, $3, $4, $5 FROM user_sessions
			WHERE user_session_id = $2 AND finished_at IS NULL
			RETURNING `+authenticationColumns+`
		), link AS (
			UPDATE upstream_oauth_authorization_sessions SET user_session_id = $2
			WHERE upstream_oauth_authorization_session_id = $4 AND user_session_id IS NULL
			  AND EXISTS (SELECT 1 FROM a)
		)
		SELECT `+authenticationColumns+` FROM a`,
		key(ulidx.New(now)), key(session.ID), ref(passwordID), ref(upstreamID), now))
	if err == nil {
		return a, nil
	}
	if noRows(err) {
		if _, err = r.Lookup(ctx, session.ID); err == nil {
			err = fmt.Errorf("browser session finished: %w", storage.ErrInvalidState)
		}
	}
	return nil, err
}

// ListAuthentications returns the session's authentications, oldest first.
func (r userSessions) ListAuthentications(ctx context.Context, sessionID ulid.ULID) ([]*storage.Authentication, error) {
	rows, err := r.ext.QueryxContext(ctx, `
		SELECT `+authenticationColumns+` FROM user_session_authentications
		WHERE user_session_id = $1 ORDER BY created_at, user_session_authentication_id`, key(sessionID))
	if err != nil {
		return nil, fmt.Errorf("list authentications of browser session %s: %w", sessionID, translate(err))
	}
	list, err := scanAll(rows, scanAuthentication)
	if err != nil {
		return nil, fmt.Errorf("list authentications of browser session %s: %w", sessionID, err)
	}
	return list, nil
}

// cleanupFinishedUserSessions examines finished sessions in ID order and
// deletes those no compat or OAuth 2.0 session references. Only those are
// locked: a replica that locked a skipped session would hide it from another
// replica whose compat cleanup just freed it. The ID order is what makes a
// blocked candidate cheap: the batch's candidates span one range of IDs, so
// the children of all of them are read in one range of each child index
// (compat_sessions_user_session_fk, oauth2_sessions_user_session_fk) and
// matched by a hash, where checking each candidate on its own costs an index
// descent (BENCHMARKS.md, blocked browser sessions).
// Materializing that range keeps the planner from turning the check back
// into a probe per candidate. The candidates come index-only from
// masstore_user_sessions_finished_id_idx (migration 0029).
// What else references a deleted session: its authentications (NO ACTION)
// are deleted; device-code grants (NO ACTION) are unlinked here; SSO logins
// go by cascade; upstream logins, authorization grants and email
// authentications are nulled by their foreign keys.
const cleanupFinishedUserSessions = `
WITH candidates AS MATERIALIZED (
	SELECT user_session_id AS id FROM user_sessions
	WHERE finished_at IS NOT NULL AND finished_at < $1 AND user_session_id > $2
	ORDER BY user_session_id
	LIMIT $3
), last AS MATERIALIZED (
	SELECT id FROM candidates ORDER BY id DESC LIMIT 1
), referenced AS MATERIALIZED (
	SELECT user_session_id AS id FROM compat_sessions
	WHERE user_session_id > $2 AND user_session_id <= (SELECT id FROM last)
	UNION ALL
	SELECT user_session_id FROM oauth2_sessions
	WHERE user_session_id > $2 AND user_session_id <= (SELECT id FROM last)
), deletable AS MATERIALIZED (
	SELECT us.user_session_id AS id FROM user_sessions us
	WHERE us.user_session_id = ANY (ARRAY(
		SELECT c.id FROM candidates c
		WHERE NOT EXISTS (SELECT 1 FROM referenced r WHERE r.id = c.id)))
	FOR UPDATE OF us SKIP LOCKED
), deleted_authentications AS (
	DELETE FROM user_session_authentications WHERE user_session_id = ANY (ARRAY(SELECT id FROM deletable))
), unlinked_device_grants AS (
	UPDATE oauth2_device_code_grant SET user_session_id = NULL WHERE user_session_id = ANY (ARRAY(SELECT id FROM deletable))
), deleted AS (
	DELETE FROM user_sessions WHERE user_session_id = ANY (ARRAY(SELECT id FROM deletable))
	RETURNING 1
)
SELECT (SELECT count(*) FROM candidates), (SELECT count(*) FROM deleted), NULL::timestamptz, (SELECT id FROM last)`

// CleanupFinished deletes finished sessions no other session references.
func (r userSessions) CleanupFinished(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return idCleanup(ctx, r.ext, "clean up finished browser sessions", cleanupFinishedUserSessions, after, before, limit)
}

// ClearInactiveIPs nulls the IP of sessions last active before `before`.
func (r userSessions) ClearInactiveIPs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return timeCleanup(ctx, r.ext, "clear inactive browser session IPs", clearIPsQuery("user_sessions", "user_session_id"), after, before, limit)
}

// CountStaleIPs counts sessions holding an IP, last active before `before`.
func (r userSessions) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return count(ctx, r.ext, "count stale browser session IPs", countStaleIPsQuery("user_sessions"), storage.Horizon(before))
}
