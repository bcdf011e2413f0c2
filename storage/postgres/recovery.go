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

// recovery is the storage.RecoveryRepository.
type recovery struct{ ext sqlx.ExtContext }

const recoverySessionColumns = `user_recovery_session_id, email, user_agent, ip_address, locale, created_at, consumed_at`

func scanRecoverySession(row rowScanner) (*storage.RecoverySession, error) {
	var s storage.RecoverySession
	err := row.Scan(idCol{&s.ID}, &s.Email, &s.UserAgent, ipCol{&s.IPAddress}, &s.Locale,
		timeCol{&s.CreatedAt}, nullTimeCol{&s.ConsumedAt})
	if err != nil {
		return nil, translate(err)
	}
	return &s, nil
}

const recoveryTicketColumns = `user_recovery_ticket_id, user_recovery_session_id, user_email_id, ticket, created_at, expires_at`

func scanRecoveryTicket(row rowScanner) (*storage.RecoveryTicket, error) {
	var t storage.RecoveryTicket
	err := row.Scan(idCol{&t.ID}, idCol{&t.SessionID}, idCol{&t.UserEmailID}, &t.Ticket,
		timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt})
	if err != nil {
		return nil, translate(err)
	}
	return &t, nil
}

// AddSession starts a recovery for email. user_agent and locale are NOT
// NULL in MAS's schema: empty ones are stored as "".
func (r recovery) AddSession(ctx context.Context, clock storage.Clock, email, userAgent string, ip netip.Addr, locale string) (*storage.RecoverySession, error) {
	now := storage.Now(clock)
	s := &storage.RecoverySession{ID: ulidx.New(now), Email: email, UserAgent: userAgent, IPAddress: ip.WithZone(""), Locale: locale, CreatedAt: now}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO user_recovery_sessions (user_recovery_session_id, email, user_agent, ip_address, locale, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		key(s.ID), email, userAgent, ipArg(ip), locale, now)
	if err != nil {
		return nil, fmt.Errorf("add recovery session: %w", translate(err))
	}
	return s, nil
}

// LookupSession returns the session, or ErrNotFound.
func (r recovery) LookupSession(ctx context.Context, id ulid.ULID) (*storage.RecoverySession, error) {
	s, err := scanRecoverySession(r.ext.QueryRowxContext(ctx,
		`SELECT `+recoverySessionColumns+` FROM user_recovery_sessions WHERE user_recovery_session_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup recovery session %s: %w", id, err)
	}
	return s, nil
}

// ConsumeSession marks it used.
func (r recovery) ConsumeSession(ctx context.Context, clock storage.Clock, session *storage.RecoverySession) (*storage.RecoverySession, error) {
	if session == nil {
		return nil, nilArg("consume recovery session", "session")
	}
	s, err := scanRecoverySession(r.ext.QueryRowxContext(ctx, `
		UPDATE user_recovery_sessions SET consumed_at = $1
		WHERE user_recovery_session_id = $2 AND consumed_at IS NULL
		RETURNING `+recoverySessionColumns, storage.Now(clock), key(session.ID)))
	if err == nil {
		return s, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "user_recovery_sessions", "user_recovery_session_id", session.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("consume recovery session %s: %w", session.ID, err)
}

// AddTicket adds a ticket for one of the user's emails.
func (r recovery) AddTicket(ctx context.Context, clock storage.Clock, session *storage.RecoverySession, email *storage.UserEmail, ticket string, expiresIn time.Duration) (*storage.RecoveryTicket, error) {
	if session == nil {
		return nil, nilArg("add recovery ticket", "session")
	}
	if email == nil {
		return nil, fmt.Errorf("add recovery ticket: no email: %w", storage.ErrInvalidArgument)
	}
	if ticket == "" {
		return nil, fmt.Errorf("add recovery ticket: empty ticket: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	t := &storage.RecoveryTicket{ID: ulidx.New(now), SessionID: session.ID, UserEmailID: email.ID, Ticket: ticket,
		CreatedAt: now, ExpiresAt: storage.Timestamp(now.Add(expiresIn))}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO user_recovery_tickets (user_recovery_ticket_id, user_recovery_session_id, user_email_id, ticket, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		key(t.ID), key(t.SessionID), key(t.UserEmailID), ticket, now, t.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("add ticket of recovery session %s: %w", session.ID, translate(err))
	}
	return t, nil
}

// FindTicket returns the ticket with that value, or ErrNotFound. MAS does
// not make tickets unique; the newest wins.
func (r recovery) FindTicket(ctx context.Context, ticket string) (*storage.RecoveryTicket, error) {
	t, err := scanRecoveryTicket(r.ext.QueryRowxContext(ctx, `
		SELECT `+recoveryTicketColumns+` FROM user_recovery_tickets WHERE ticket = $1
		ORDER BY user_recovery_ticket_id DESC LIMIT 1`, ticket))
	if err != nil {
		return nil, fmt.Errorf("find recovery ticket: %w", err)
	}
	return t, nil
}

// cleanupRecoverySessions deletes sessions by ULID age; their tickets go by
// cascade.
var cleanupRecoverySessions = deleteByULIDAgeQuery("user_recovery_sessions", "user_recovery_session_id", "")

// CleanupSessions deletes sessions created before `before`, with their tickets.
func (r recovery) CleanupSessions(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return ulidAgeCleanup(ctx, r.ext, "clean up recovery sessions", cleanupRecoverySessions, after, before, limit)
}

// CountStaleIPs counts sessions holding an IP, created (ULID age, as their
// cleanup) before `before`.
func (r recovery) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return count(ctx, r.ext, "count stale recovery session IPs", `
		SELECT count(*) FROM user_recovery_sessions
		WHERE ip_address IS NOT NULL AND user_recovery_session_id < $1`, key(ulidx.Horizon(before)))
}
