package storage

import (
	"context"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"
)

// RecoverySession is an account-recovery request for an email address.
type RecoverySession struct {
	ID         ulid.ULID
	Email      string
	UserAgent  string
	IPAddress  netip.Addr
	Locale     string
	CreatedAt  time.Time
	ConsumedAt *time.Time
}

// RecoveryTicket is a ticket mailed to one of the user's addresses.
type RecoveryTicket struct {
	ID          ulid.ULID
	SessionID   ulid.ULID
	UserEmailID ulid.ULID
	Ticket      string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// RecoveryRepository stores account-recovery sessions and tickets.
type RecoveryRepository interface {
	// AddSession starts a recovery for email.
	AddSession(ctx context.Context, clock Clock, email, userAgent string, ip netip.Addr, locale string) (*RecoverySession, error)
	// LookupSession returns the session, or ErrNotFound.
	LookupSession(ctx context.Context, id ulid.ULID) (*RecoverySession, error)
	// ConsumeSession marks it used; twice is ErrAlreadyFinished.
	ConsumeSession(ctx context.Context, clock Clock, session *RecoverySession) (*RecoverySession, error)
	// AddTicket adds a ticket for one of the user's emails, expiring after expiresIn.
	AddTicket(ctx context.Context, clock Clock, session *RecoverySession, email *UserEmail, ticket string, expiresIn time.Duration) (*RecoveryTicket, error)
	// FindTicket returns the ticket with that value, or ErrNotFound.
	FindTicket(ctx context.Context, ticket string) (*RecoveryTicket, error)

	// CleanupSessions deletes sessions created (ULID age) before `before`,
	// with their tickets. See CleanupFunc.
	CleanupSessions(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CountStaleIPs counts sessions holding an IP, created before `before`.
	CountStaleIPs(ctx context.Context, before time.Time) (int, error)
}
