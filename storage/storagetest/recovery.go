package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// recoverySessionConsume: ConsumeSession, which sets ConsumedAt.
var recoverySessionConsume = stampCase[storage.RecoverySession]{
	op:    "ConsumeSession",
	field: "ConsumedAt",
	start: func(t *testing.T, b bundle) *storage.RecoverySession { return mustRecoverySession(t, b.store, b.clock) },
	apply: func(b bundle, s *storage.RecoverySession) (*storage.RecoverySession, error) {
		return b.store.Recovery().ConsumeSession(b.ctx, b.clock, s)
	},
	lookup: func(b bundle, s *storage.RecoverySession) (*storage.RecoverySession, error) {
		return b.store.Recovery().LookupSession(b.ctx, s.ID)
	},
	stamp: func(s *storage.RecoverySession) **time.Time { return &s.ConsumedAt },
	unknown: func(t *testing.T, b bundle) *storage.RecoverySession {
		return &storage.RecoverySession{ID: unknownID(b.clock), Email: "x@example.org"}
	},
}

func testRecovery(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("AddSessionReturnsStoredSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		s, err := b.store.Recovery().AddSession(b.ctx, b.clock, "alice@example.org", "Firefox", ipB, "fr")
		require.NoError(t, err)
		requireNewID(t, b.clock, s.ID)
		require.Equal(t, &storage.RecoverySession{
			ID: s.ID, Email: "alice@example.org", UserAgent: "Firefox", IPAddress: ipB, Locale: "fr", CreatedAt: Epoch,
		}, s)
		got, err := b.store.Recovery().LookupSession(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, s, got)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		clock := oddClock()
		s := mustRecoverySession(t, b.store, clock)
		_, err := b.store.Recovery().ConsumeSession(b.ctx, clock, s)
		require.NoError(t, err)
		tk := mustRecoveryTicket(t, b.store, clock, s, mustEmail(t, b.store, clock, mustUser(t, b.store, clock)))

		want := storage.Timestamp(oddInstant)
		got, err := b.store.Recovery().LookupSession(b.ctx, s.ID)
		require.NoError(t, err)
		require.Equal(t, want, got.CreatedAt)
		require.Equal(t, &want, got.ConsumedAt)
		ticket, err := b.store.Recovery().FindTicket(b.ctx, tk.Ticket)
		require.NoError(t, err)
		require.Equal(t, want, ticket.CreatedAt)
		require.Equal(t, want.Add(time.Hour), ticket.ExpiresAt)
	})

	t.Run("LookupSessionUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustRecoverySession(t, b.store, b.clock)

		_, err := b.store.Recovery().LookupSession(b.ctx, unknownID(b.clock))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	recoverySessionConsume.run(t, f)

	t.Run("AddTicketReturnsStoredTicket", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		email := mustEmail(t, b.store, b.clock, mustUser(t, b.store, b.clock))
		s := mustRecoverySession(t, b.store, b.clock)
		b.clock.Advance(time.Second)

		tk, err := b.store.Recovery().AddTicket(b.ctx, b.clock, s, email, "ticket_abc", 20*time.Minute)
		require.NoError(t, err)
		requireNewID(t, b.clock, tk.ID)
		now := storage.Now(b.clock)
		require.Equal(t, &storage.RecoveryTicket{
			ID: tk.ID, SessionID: s.ID, UserEmailID: email.ID, Ticket: "ticket_abc", CreatedAt: now, ExpiresAt: now.Add(20 * time.Minute),
		}, tk)
		got, err := b.store.Recovery().FindTicket(b.ctx, "ticket_abc")
		require.NoError(t, err)
		require.Equal(t, tk, got)
	})

	t.Run("AddTicketUnknownSessionOrEmailIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		u := mustUser(t, b.store, b.clock)
		email := mustEmail(t, b.store, b.clock, u)
		s := mustRecoverySession(t, b.store, b.clock)

		_, err := b.store.Recovery().AddTicket(b.ctx, b.clock, &storage.RecoverySession{ID: unknownID(b.clock)}, email, unique("ticket"), time.Hour)
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = b.store.Recovery().AddTicket(b.ctx, b.clock, s, &storage.UserEmail{ID: unknownID(b.clock), UserID: u.ID}, unique("ticket"), time.Hour)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("AddTicketEmptyIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		email := mustEmail(t, b.store, b.clock, mustUser(t, b.store, b.clock))

		_, err := b.store.Recovery().AddTicket(b.ctx, b.clock, mustRecoverySession(t, b.store, b.clock), email, "", time.Hour)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("FindTicketUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		mustRecoveryTicket(t, b.store, b.clock, mustRecoverySession(t, b.store, b.clock), mustEmail(t, b.store, b.clock, mustUser(t, b.store, b.clock)))

		_, err := b.store.Recovery().FindTicket(b.ctx, "ticket_nope")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})
}
