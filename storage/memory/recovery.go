package memory

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// recovery implements storage.RecoveryRepository.
type recovery struct{ repo }

// AddSession starts a recovery for email.
func (r recovery) AddSession(ctx context.Context, clock storage.Clock, email, userAgent string, ip netip.Addr, locale string) (*storage.RecoverySession, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.RecoverySession, error) {
		const op = "add recovery session"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s := storage.RecoverySession{ID: ulidx.New(now), Email: email, UserAgent: userAgent, IPAddress: inet(ip), Locale: locale, CreatedAt: now}
		if err := st.recoverySessions.insert(s.ID, s); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneRecoverySession(s), nil
	})
}

// LookupSession returns the session.
func (r recovery) LookupSession(ctx context.Context, id ulid.ULID) (*storage.RecoverySession, error) {
	return query(r.repo, ctx, func(st *state) (*storage.RecoverySession, error) {
		s, err := st.recoverySessions.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup recovery session: %w", err)
		}
		return cloneRecoverySession(s), nil
	})
}

// ConsumeSession marks it used.
func (r recovery) ConsumeSession(ctx context.Context, clock storage.Clock, session *storage.RecoverySession) (*storage.RecoverySession, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.RecoverySession, error) {
		const op = "consume recovery session"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s, err := mustRecoverySession(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if s.ConsumedAt != nil {
			return nil, fmt.Errorf("%s %s: %w", op, s.ID, storage.ErrAlreadyFinished)
		}
		s.ConsumedAt = timeRef(now)
		if err := st.recoverySessions.update(s.ID, s); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneRecoverySession(s), nil
	})
}

// AddTicket adds a ticket for one of the user's emails.
func (r recovery) AddTicket(ctx context.Context, clock storage.Clock, session *storage.RecoverySession, email *storage.UserEmail, ticket string, expiresIn time.Duration) (*storage.RecoveryTicket, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.RecoveryTicket, error) {
		const op = "add recovery ticket"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if ticket == "" {
			return nil, fmt.Errorf("%s: empty ticket: %w", op, storage.ErrInvalidArgument)
		}
		s, err := mustRecoverySession(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if email == nil {
			return nil, fmt.Errorf("%s: nil email: %w", op, storage.ErrInvalidArgument)
		}
		e, err := st.userEmails.must(email.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		t := storage.RecoveryTicket{ID: ulidx.New(now), SessionID: s.ID, UserEmailID: e.ID, Ticket: ticket, CreatedAt: now, ExpiresAt: storage.Timestamp(now.Add(expiresIn))}
		if err := st.recoveryTickets.insert(t.ID, t); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return plain(t), nil
	})
}

// FindTicket returns the ticket with that value. The schema does not make
// tickets unique; of several, the oldest is returned.
func (r recovery) FindTicket(ctx context.Context, ticket string) (*storage.RecoveryTicket, error) {
	return query(r.repo, ctx, func(st *state) (*storage.RecoveryTicket, error) {
		var found *storage.RecoveryTicket
		for _, t := range st.recoveryTickets.rows {
			if t.Ticket == ticket && (found == nil || t.ID.Compare(found.ID) < 0) {
				found = plain(t)
			}
		}
		if found == nil {
			return nil, fmt.Errorf("find recovery ticket: %w", storage.ErrNotFound)
		}
		return found, nil
	})
}

// CleanupSessions deletes sessions created before `before`, with their tickets.
func (r recovery) CleanupSessions(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up recovery sessions", limit, func(st *state) (storage.Batch, error) {
		cands := byAge(st.recoverySessions.rows, after, before, limit, func(storage.RecoverySession) bool { return true })
		return deleteAll(st, tRecoverySessions, cands, after)
	})
}

// CountStaleIPs counts sessions holding an IP, created before `before`.
func (r recovery) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return r.count(ctx, func(st *state) int {
		return countOlder(st.recoverySessions.rows, before, func(s storage.RecoverySession) bool { return s.IPAddress.IsValid() })
	})
}

// mustRecoverySession returns the stored row of session.
func mustRecoverySession(st *state, session *storage.RecoverySession) (storage.RecoverySession, error) {
	if session == nil {
		return storage.RecoverySession{}, fmt.Errorf("nil recovery session: %w", storage.ErrInvalidArgument)
	}
	return st.recoverySessions.must(session.ID)
}
