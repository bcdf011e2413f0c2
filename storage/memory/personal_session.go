package memory

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// personalSessions implements storage.PersonalSessionRepository.
type personalSessions struct{ repo }

// Add starts a personal session owned by owner, acting as actor.
func (r personalSessions) Add(ctx context.Context, clock storage.Clock, owner storage.PersonalSessionOwner, actor *storage.User, humanName string, scope []string) (*storage.PersonalSession, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.PersonalSession, error) {
		const op = "add personal session"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := checkOwner(owner); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if actor == nil {
			return nil, fmt.Errorf("%s: nil actor: %w", op, storage.ErrInvalidArgument)
		}
		if humanName == "" {
			return nil, fmt.Errorf("%s: empty human name: %w", op, storage.ErrInvalidArgument)
		}
		s := storage.PersonalSession{ID: ulidx.New(now), HumanName: humanName, Scope: textArray(scope), CreatedAt: now}
		if owner.User != nil {
			u, err := st.users.must(owner.User.ID)
			if err != nil {
				return nil, fmt.Errorf("%s: owner: %w", op, err)
			}
			s.OwnerUserID = u.ID
		} else {
			c, err := st.oauth2Clients.must(owner.Client.ID)
			if err != nil {
				return nil, fmt.Errorf("%s: owner: %w", op, err)
			}
			s.OwnerClientID = c.ID
		}
		a, err := st.users.must(actor.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: actor: %w", op, err)
		}
		s.ActorUserID = a.ID
		if err := st.personalSessions.insert(s.ID, s); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return clonePersonalSession(s), nil
	})
}

// checkOwner enforces personal_sessions_exactly_one_owner.
func checkOwner(owner storage.PersonalSessionOwner) error {
	if (owner.User == nil) == (owner.Client == nil) {
		return fmt.Errorf("owner must be exactly one of a user and a client: %w", storage.ErrInvalidArgument)
	}
	return nil
}

// Lookup returns the session.
func (r personalSessions) Lookup(ctx context.Context, id ulid.ULID) (*storage.PersonalSession, error) {
	return query(r.repo, ctx, func(st *state) (*storage.PersonalSession, error) {
		s, err := st.personalSessions.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup personal session: %w", err)
		}
		return clonePersonalSession(s), nil
	})
}

// ListByOwner returns the owner's sessions, revoked ones included, oldest
// first.
func (r personalSessions) ListByOwner(ctx context.Context, owner storage.PersonalSessionOwner) ([]*storage.PersonalSession, error) {
	return query(r.repo, ctx, func(st *state) ([]*storage.PersonalSession, error) {
		if err := checkOwner(owner); err != nil {
			return nil, fmt.Errorf("list personal sessions: %w", err)
		}
		owns := func(s storage.PersonalSession) bool { return owner.User != nil && s.OwnerUserID == owner.User.ID }
		if owner.Client != nil {
			owns = func(s storage.PersonalSession) bool { return s.OwnerClientID == owner.Client.ID }
		}
		var out []*storage.PersonalSession
		for _, s := range st.personalSessions.rows {
			if owns(s) {
				out = append(out, clonePersonalSession(s))
			}
		}
		slices.SortFunc(out, func(a, b *storage.PersonalSession) int { return byCreation(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
		return out, nil
	})
}

// Revoke marks the session and its live access token revoked.
func (r personalSessions) Revoke(ctx context.Context, clock storage.Clock, session *storage.PersonalSession) (*storage.PersonalSession, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.PersonalSession, error) {
		const op = "revoke personal session"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s, err := mustPersonalSession(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if s.RevokedAt != nil {
			return nil, fmt.Errorf("%s %s: %w", op, s.ID, storage.ErrAlreadyFinished)
		}
		s.RevokedAt = timeRef(now)
		if err := st.personalSessions.update(s.ID, s); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := st.revokeLivePersonalToken(s.ID, now); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return clonePersonalSession(s), nil
	})
}

// RecordActivity sets the last active time and, when valid, the IP.
func (r personalSessions) RecordActivity(ctx context.Context, clock storage.Clock, id ulid.ULID, ip netip.Addr) error {
	return r.write(ctx, func(st *state) error { return personalSessionActivity.record(st, clock, id, ip) })
}

// AddAccessToken issues the session a token, revoking its live one.
func (r personalSessions) AddAccessToken(ctx context.Context, clock storage.Clock, session *storage.PersonalSession, token string, expiresIn time.Duration) (*storage.PersonalAccessToken, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.PersonalAccessToken, error) {
		const op = "add personal access token"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if token == "" {
			return nil, fmt.Errorf("%s: empty token: %w", op, storage.ErrInvalidArgument)
		}
		s, err := mustPersonalSession(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if s.RevokedAt != nil {
			return nil, fmt.Errorf("%s: personal session %s revoked: %w", op, s.ID, storage.ErrInvalidState)
		}
		if err := st.revokeLivePersonalToken(s.ID, now); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		t := storage.PersonalAccessToken{
			ID: ulidx.New(now), SessionID: s.ID, SHA256: sha256.Sum256([]byte(token)),
			CreatedAt: now, ExpiresAt: expiry(now, expiresIn),
		}
		if err := st.personalTokens.insert(t.ID, t); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return clonePersonalToken(t), nil
	})
}

// LookupAccessToken returns the token with that ID, whatever its state.
func (r personalSessions) LookupAccessToken(ctx context.Context, id ulid.ULID) (*storage.PersonalAccessToken, error) {
	return query(r.repo, ctx, func(st *state) (*storage.PersonalAccessToken, error) {
		t, err := st.personalTokens.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup personal access token: %w", err)
		}
		return clonePersonalToken(t), nil
	})
}

// FindAccessToken returns the token with that value if it may authenticate
// now. A token of a revoked session is reported as such first: revoking a
// session revokes its token too.
func (r personalSessions) FindAccessToken(ctx context.Context, clock storage.Clock, token string) (*storage.PersonalAccessToken, error) {
	return query(r.repo, ctx, func(st *state) (*storage.PersonalAccessToken, error) {
		const op = "find personal access token"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		h := sha256.Sum256([]byte(token))
		t, ok := st.personalTokens.find(uqPersonalHash, string(h[:]))
		if !ok {
			return nil, fmt.Errorf("%s: %w", op, storage.ErrNotFound)
		}
		s, err := st.personalSessions.must(t.SessionID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		switch {
		case s.RevokedAt != nil:
			return nil, fmt.Errorf("%s %s: session revoked: %w", op, t.ID, storage.ErrInvalidState)
		case t.RevokedAt != nil:
			return nil, fmt.Errorf("%s %s: revoked: %w", op, t.ID, storage.ErrInvalidState)
		case t.ExpiresAt != nil && !t.ExpiresAt.After(now):
			return nil, fmt.Errorf("%s %s: expired: %w", op, t.ID, storage.ErrInvalidState)
		}
		return clonePersonalToken(t), nil
	})
}

// RevokeAccessToken marks the token revoked.
func (r personalSessions) RevokeAccessToken(ctx context.Context, clock storage.Clock, token *storage.PersonalAccessToken) (*storage.PersonalAccessToken, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.PersonalAccessToken, error) {
		const op = "revoke personal access token"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if token == nil {
			return nil, fmt.Errorf("%s: nil token: %w", op, storage.ErrInvalidArgument)
		}
		t, err := st.personalTokens.must(token.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if t.RevokedAt != nil {
			return nil, fmt.Errorf("%s %s: %w", op, t.ID, storage.ErrAlreadyFinished)
		}
		t.RevokedAt = timeRef(now)
		if err := st.personalTokens.update(t.ID, t); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return clonePersonalToken(t), nil
	})
}

// CleanupRevoked deletes sessions revoked before `before`, with their
// access tokens.
func (r personalSessions) CleanupRevoked(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up revoked personal sessions", limit, func(st *state) (storage.Batch, error) {
		cands := byTime(st.personalSessions.rows, after, before, limit, func(s storage.PersonalSession) *time.Time { return s.RevokedAt })
		doomed := ids(cands)
		if err := st.deleteRows(map[string][]ulid.ULID{
			tPersonalSessions:     doomed,
			tPersonalAccessTokens: st.personalTokens.referencing(fkPersonalTokenSession, doomed...),
		}); err != nil {
			return storage.Batch{}, err
		}
		return batch(cands, len(cands), after), nil
	})
}

// CleanupRevokedAccessTokens deletes access tokens revoked before `before`.
func (r personalSessions) CleanupRevokedAccessTokens(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up revoked personal access tokens", limit, func(st *state) (storage.Batch, error) {
		cands := byTime(st.personalTokens.rows, after, before, limit, func(t storage.PersonalAccessToken) *time.Time { return t.RevokedAt })
		return deleteAll(st, tPersonalAccessTokens, cands, after)
	})
}

// ClearInactiveIPs nulls the IP of sessions last active before `before`.
func (r personalSessions) ClearInactiveIPs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clear inactive personal session IPs", limit, func(st *state) (storage.Batch, error) {
		return personalSessionActivity.clearIPs(st, after, before, limit)
	})
}

// CountStaleIPs counts sessions holding an IP, last active before `before`.
func (r personalSessions) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return r.count(ctx, func(st *state) int { return personalSessionActivity.countStaleIPs(st, before) })
}

// revokeLivePersonalToken revokes the session's token that is not revoked,
// if it has one.
func (st *state) revokeLivePersonalToken(sessionID ulid.ULID, now time.Time) error {
	t, ok := st.personalTokens.find(uqPersonalLive, sessionID.String())
	if !ok {
		return nil
	}
	t.RevokedAt = timeRef(now)
	return st.personalTokens.update(t.ID, t)
}

// mustPersonalSession returns the stored row of session.
func mustPersonalSession(st *state, session *storage.PersonalSession) (storage.PersonalSession, error) {
	if session == nil {
		return storage.PersonalSession{}, fmt.Errorf("nil personal session: %w", storage.ErrInvalidArgument)
	}
	return st.personalSessions.must(session.ID)
}
