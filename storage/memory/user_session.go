package memory

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// userSessions implements storage.UserSessionRepository.
type userSessions struct{ repo }

// Add starts a browser session for the user.
func (r userSessions) Add(ctx context.Context, clock storage.Clock, user *storage.User, userAgent string) (*storage.UserSession, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UserSession, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("add browser session: %w", err)
		}
		u, err := mustUser(st, user)
		if err != nil {
			return nil, fmt.Errorf("add browser session: %w", err)
		}
		s := storage.UserSession{ID: ulidx.New(now), UserID: u.ID, UserAgent: userAgent, CreatedAt: now}
		if err := st.userSessions.insert(s.ID, s); err != nil {
			return nil, fmt.Errorf("add browser session: %w", err)
		}
		return cloneUserSession(s), nil
	})
}

// Lookup returns the session, finished or not.
func (r userSessions) Lookup(ctx context.Context, id ulid.ULID) (*storage.UserSession, error) {
	return query(r.repo, ctx, func(st *state) (*storage.UserSession, error) {
		s, err := st.userSessions.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup browser session: %w", err)
		}
		return cloneUserSession(s), nil
	})
}

// ListByUser returns the user's sessions, finished ones included, oldest first.
func (r userSessions) ListByUser(ctx context.Context, userID ulid.ULID) ([]*storage.UserSession, error) {
	return query(r.repo, ctx, func(st *state) ([]*storage.UserSession, error) {
		var out []*storage.UserSession
		for _, s := range st.userSessions.rows {
			if s.UserID == userID {
				out = append(out, cloneUserSession(s))
			}
		}
		slices.SortFunc(out, func(a, b *storage.UserSession) int { return byCreation(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
		return out, nil
	})
}

// Finish marks the session finished.
func (r userSessions) Finish(ctx context.Context, clock storage.Clock, session *storage.UserSession) (*storage.UserSession, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UserSession, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("finish browser session: %w", err)
		}
		s, err := mustUserSession(st, session)
		if err != nil {
			return nil, fmt.Errorf("finish browser session: %w", err)
		}
		if s.FinishedAt != nil {
			return nil, fmt.Errorf("finish browser session %s: %w", s.ID, storage.ErrAlreadyFinished)
		}
		s.FinishedAt = timeRef(now)
		if err := st.userSessions.update(s.ID, s); err != nil {
			return nil, fmt.Errorf("finish browser session: %w", err)
		}
		return cloneUserSession(s), nil
	})
}

// RecordActivity sets the last active time and, when valid, the IP.
func (r userSessions) RecordActivity(ctx context.Context, clock storage.Clock, id ulid.ULID, ip netip.Addr) error {
	return r.write(ctx, func(st *state) error { return userSessionActivity.record(st, clock, id, ip) })
}

// AuthenticateWithPassword records a password authentication.
func (r userSessions) AuthenticateWithPassword(ctx context.Context, clock storage.Clock, session *storage.UserSession, password *storage.UserPassword) (*storage.Authentication, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.Authentication, error) {
		const op = "authenticate browser session with password"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s, err := mustOpenUserSession(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if password == nil {
			return nil, fmt.Errorf("%s: nil password: %w", op, storage.ErrInvalidArgument)
		}
		if _, err := st.userPasswords.must(password.ID); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		a := storage.Authentication{ID: ulidx.New(now), UserSessionID: s.ID, UserPasswordID: password.ID, CreatedAt: now}
		if err := st.insertAuthentication(a); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return plain(a), nil
	})
}

// AuthenticateWithUpstream records an authentication through an upstream
// login and links the login to the session. Like the PostgreSQL backend, it
// does not check that the login was completed.
func (r userSessions) AuthenticateWithUpstream(ctx context.Context, clock storage.Clock, session *storage.UserSession, upstream *storage.UpstreamOAuthSession) (*storage.Authentication, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.Authentication, error) {
		const op = "authenticate browser session with upstream login"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s, err := mustOpenUserSession(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		u, err := mustUpstreamSession(st, upstream)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		a := storage.Authentication{ID: ulidx.New(now), UserSessionID: s.ID, UpstreamSessionID: u.ID, CreatedAt: now}
		if err := st.insertAuthentication(a); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return plain(a), nil
	})
}

// ListAuthentications returns the session's authentications, oldest first.
func (r userSessions) ListAuthentications(ctx context.Context, sessionID ulid.ULID) ([]*storage.Authentication, error) {
	return query(r.repo, ctx, func(st *state) ([]*storage.Authentication, error) {
		var out []*storage.Authentication
		for _, a := range st.authentications.rows {
			if a.UserSessionID == sessionID {
				out = append(out, plain(a))
			}
		}
		slices.SortFunc(out, func(a, b *storage.Authentication) int { return byCreation(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
		return out, nil
	})
}

// CleanupFinished deletes finished sessions no compat or OAuth 2.0 session
// references, with their authentications and SSO logins, ordered by ID.
func (r userSessions) CleanupFinished(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up finished browser sessions", limit, func(st *state) (storage.Batch, error) {
		horizon := storage.Horizon(before)
		cands := byID(st.userSessions.rows, after, limit, func(_ ulid.ULID, s storage.UserSession) bool {
			return s.FinishedAt != nil && s.FinishedAt.Before(horizon)
		})
		if len(cands) == 0 {
			return batch(cands, 0, after), nil
		}
		var del []ulid.ULID
		for _, c := range cands {
			if !st.compatSessions.referenced(fkCompatUserSession, c.id) && !st.oauth2Sessions.referenced(fkOAuth2UserSession, c.id) {
				del = append(del, c.id)
			}
		}
		if len(del) == 0 {
			return batch(cands, 0, after), nil
		}
		auths := st.authentications.referencing(fkAuthUserSession, del...)
		// The device-code grants' reference is NO ACTION: unlink them first.
		for _, id := range st.deviceGrants.referencing(fkDeviceGrantUserSession, del...) {
			g := st.deviceGrants.rows[id]
			g.UserSessionID = ulid.ULID{}
			if err := st.deviceGrants.update(id, g); err != nil {
				return storage.Batch{}, err
			}
		}
		if err := st.deleteRows(map[string][]ulid.ULID{tUserSessions: del, tAuthentications: auths}); err != nil {
			return storage.Batch{}, err
		}
		return batch(cands, len(del), after), nil
	})
}

// ClearInactiveIPs nulls the IP of sessions last active before `before`.
func (r userSessions) ClearInactiveIPs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clear inactive browser session IPs", limit, func(st *state) (storage.Batch, error) {
		return userSessionActivity.clearIPs(st, after, before, limit)
	})
}

// CountStaleIPs counts sessions holding an IP, last active before `before`.
func (r userSessions) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return r.count(ctx, func(st *state) int { return userSessionActivity.countStaleIPs(st, before) })
}

// ExpireInactive finishes unfinished sessions last active before `before`;
// their compat and OAuth 2.0 sessions are left as they are.
func (r userSessions) ExpireInactive(ctx context.Context, clock storage.Clock, after storage.Cursor, before time.Time, limit int) (storage.Batch, []ulid.ULID, error) {
	return r.expire(ctx, clock, "expire inactive browser sessions", limit, func(st *state, now time.Time) (storage.Batch, []ulid.ULID, error) {
		return expireInactive(st.userSessions, now, after, before, limit,
			func(s *storage.UserSession) sessionActivity {
				return sessionActivity{&s.FinishedAt, s.LastActiveAt, s.UserID}
			},
			func(storage.UserSession) bool { return true })
	})
}

// insertAuthentication inserts a user_session_authentications row and runs
// the upstream_oauth_authorization_sessions_insert_trigger: the upstream
// login it names gets its browser session, if it has none yet.
func (st *state) insertAuthentication(a storage.Authentication) error {
	if err := st.authentications.insert(a.ID, a); err != nil {
		return err
	}
	if a.UpstreamSessionID.IsZero() {
		return nil
	}
	u, ok := st.upstreamSessions.get(a.UpstreamSessionID)
	if !ok || !u.UserSessionID.IsZero() {
		return nil
	}
	u.UserSessionID = a.UserSessionID
	return st.upstreamSessions.update(u.ID, u)
}

// finishUserSessions finishes the unfinished sessions match selects and
// returns their IDs.
func (st *state) finishUserSessions(now time.Time, match func(storage.UserSession) bool) ([]ulid.ULID, error) {
	return finishWhere(st.userSessions, now, func(s *storage.UserSession) **time.Time { return &s.FinishedAt }, match)
}

// mustUserSession returns the stored row of session.
func mustUserSession(st *state, session *storage.UserSession) (storage.UserSession, error) {
	if session == nil {
		return storage.UserSession{}, fmt.Errorf("nil browser session: %w", storage.ErrInvalidArgument)
	}
	return st.userSessions.must(session.ID)
}

// mustOpenUserSession returns the stored row of session, which must not be
// finished.
func mustOpenUserSession(st *state, session *storage.UserSession) (storage.UserSession, error) {
	s, err := mustUserSession(st, session)
	if err != nil {
		return s, err
	}
	if s.FinishedAt != nil {
		return s, fmt.Errorf("browser session %s finished: %w", s.ID, storage.ErrInvalidState)
	}
	return s, nil
}

// optUserSession returns the ID of session, which must exist, or zero for nil.
func optUserSession(st *state, session *storage.UserSession) (ulid.ULID, error) {
	if session == nil {
		return ulid.ULID{}, nil
	}
	s, err := st.userSessions.must(session.ID)
	return s.ID, err
}

// byCreation orders rows oldest first: by creation time, then ID.
func byCreation(at time.Time, id ulid.ULID, bt time.Time, bid ulid.ULID) int {
	if c := at.Compare(bt); c != 0 {
		return c
	}
	return id.Compare(bid)
}

// countBefore counts the rows for which at returns a time strictly before
// `before`, as the matching cleanup compares them.
func countBefore[V any](rows map[ulid.ULID]V, before time.Time, at func(V) *time.Time) int {
	horizon := storage.Horizon(before)
	n := 0
	for _, v := range rows {
		if t := at(v); t != nil && t.Before(horizon) {
			n++
		}
	}
	return n
}

// countOlder counts the rows created (by ULID) strictly before `before` for
// which ok holds, as the matching ULID-age cleanup compares them.
func countOlder[V any](rows map[ulid.ULID]V, before time.Time, ok func(V) bool) int {
	horizon := ulidx.Horizon(before)
	n := 0
	for id, v := range rows {
		if id.Compare(horizon) < 0 && ok(v) {
			n++
		}
	}
	return n
}
