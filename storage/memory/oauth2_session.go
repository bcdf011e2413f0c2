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

// oauth2Clients implements storage.OAuth2ClientRepository.
type oauth2Clients struct{ repo }

// Add registers a client.
func (r oauth2Clients) Add(ctx context.Context, clock storage.Clock, name string, redirectURIs []string) (*storage.OAuth2Client, error) {
	return r.add(ctx, clock, name, redirectURIs, false)
}

// AddStatic registers a static client, one from the server's configuration.
func (r oauth2Clients) AddStatic(ctx context.Context, clock storage.Clock, name string, redirectURIs []string) (*storage.OAuth2Client, error) {
	return r.add(ctx, clock, name, redirectURIs, true)
}

// add registers a client, static or not.
func (r oauth2Clients) add(ctx context.Context, clock storage.Clock, name string, redirectURIs []string, static bool) (*storage.OAuth2Client, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.OAuth2Client, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("add OAuth 2.0 client: %w", err)
		}
		c := storage.OAuth2Client{ID: ulidx.New(now), Name: name, RedirectURIs: textArray(redirectURIs), IsStatic: static, CreatedAt: now}
		if err := st.oauth2Clients.insert(c.ID, c); err != nil {
			return nil, fmt.Errorf("add OAuth 2.0 client: %w", err)
		}
		return cloneOAuth2Client(c), nil
	})
}

// Lookup returns the client.
func (r oauth2Clients) Lookup(ctx context.Context, id ulid.ULID) (*storage.OAuth2Client, error) {
	return query(r.repo, ctx, func(st *state) (*storage.OAuth2Client, error) {
		c, err := st.oauth2Clients.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup OAuth 2.0 client: %w", err)
		}
		return cloneOAuth2Client(c), nil
	})
}

// oauth2Sessions implements storage.OAuth2SessionRepository.
type oauth2Sessions struct{ repo }

// Add starts a session of client; user and browser may be nil.
func (r oauth2Sessions) Add(ctx context.Context, clock storage.Clock, client *storage.OAuth2Client, user *storage.User, browser *storage.UserSession, scope []string) (*storage.OAuth2Session, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.OAuth2Session, error) {
		const op = "add OAuth 2.0 session"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		c, err := mustClient(st, client)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		var userID ulid.ULID
		if user != nil {
			u, err := st.users.must(user.ID)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			userID = u.ID
		}
		browserID, err := optUserSession(st, browser)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s := storage.OAuth2Session{
			ID: ulidx.New(now), ClientID: c.ID, UserID: userID, UserSessionID: browserID,
			Scope: textArray(scope), CreatedAt: now,
		}
		if err := st.oauth2Sessions.insert(s.ID, s); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneOAuth2Session(s), nil
	})
}

// Lookup returns the session.
func (r oauth2Sessions) Lookup(ctx context.Context, id ulid.ULID) (*storage.OAuth2Session, error) {
	return query(r.repo, ctx, func(st *state) (*storage.OAuth2Session, error) {
		s, err := st.oauth2Sessions.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup OAuth 2.0 session: %w", err)
		}
		return cloneOAuth2Session(s), nil
	})
}

// Finish marks the session finished.
func (r oauth2Sessions) Finish(ctx context.Context, clock storage.Clock, session *storage.OAuth2Session) (*storage.OAuth2Session, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.OAuth2Session, error) {
		const op = "finish OAuth 2.0 session"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s, err := mustOAuth2Session(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if s.FinishedAt != nil {
			return nil, fmt.Errorf("%s %s: %w", op, s.ID, storage.ErrAlreadyFinished)
		}
		s.FinishedAt = timeRef(now)
		if err := st.oauth2Sessions.update(s.ID, s); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneOAuth2Session(s), nil
	})
}

// RecordActivity sets the last active time and, when valid, the IP.
func (r oauth2Sessions) RecordActivity(ctx context.Context, clock storage.Clock, id ulid.ULID, ip netip.Addr) error {
	return r.write(ctx, func(st *state) error { return oauth2SessionActivity.record(st, clock, id, ip) })
}

// CleanupFinished deletes finished sessions with their tokens and grants.
func (r oauth2Sessions) CleanupFinished(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return finishedOauth2Sessions.batch(r.repo, ctx, after, before, limit)
}

// FinishedWindow reads the candidates of CleanupFinished.
func (r oauth2Sessions) FinishedWindow(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Window, error) {
	return finishedOauth2Sessions.window(r.repo, ctx, after, before, limit)
}

// DeleteFinished deletes those of ids that are sessions finished before `before`.
func (r oauth2Sessions) DeleteFinished(ctx context.Context, ids []ulid.ULID, before time.Time) (int, error) {
	return finishedOauth2Sessions.deleteByID(r.repo, ctx, ids, before)
}

// finishedOauth2Sessions is the cleanup of finished OAuth 2.0 sessions.
var finishedOauth2Sessions = finishedCleanup[storage.OAuth2Session]{
	what: "OAuth 2.0 sessions",
	rows: func(st *state) map[ulid.ULID]storage.OAuth2Session { return st.oauth2Sessions.rows },
	at:   func(s storage.OAuth2Session) *time.Time { return s.FinishedAt },
	del:  deleteOAuth2Sessions,
}

// deleteOAuth2Sessions deletes the sessions with their tokens and
// authorization grants (NO ACTION); device-code grants go by CASCADE.
func deleteOAuth2Sessions(st *state, doomed []ulid.ULID) error {
	if len(doomed) == 0 {
		return nil
	}
	return st.deleteRows(map[string][]ulid.ULID{
		tOAuth2Sessions:      doomed,
		tOAuth2AccessTokens:  st.oauth2Access.referencing(fkOAuth2TokenSession, doomed...),
		tOAuth2RefreshTokens: st.oauth2Refresh.referencing(fkOAuth2TokenSession, doomed...),
		tAuthorizationGrants: st.authGrants.referencing(fkAuthGrantSession, doomed...),
	})
}

// ClearInactiveIPs nulls the IP of sessions last active before `before`.
func (r oauth2Sessions) ClearInactiveIPs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clear inactive OAuth 2.0 session IPs", limit, func(st *state) (storage.Batch, error) {
		return oauth2SessionActivity.clearIPs(st, after, before, limit)
	})
}

// CountStaleIPs counts sessions holding an IP, last active before `before`.
func (r oauth2Sessions) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return r.count(ctx, func(st *state) int { return oauth2SessionActivity.countStaleIPs(st, before) })
}

// ExpireInactive finishes unfinished sessions of a user, of a client that is
// not static, last active before `before`.
func (r oauth2Sessions) ExpireInactive(ctx context.Context, clock storage.Clock, after storage.Cursor, before time.Time, limit int) (storage.Batch, []ulid.ULID, error) {
	return r.expire(ctx, clock, "expire inactive OAuth 2.0 sessions", limit, func(st *state, now time.Time) (storage.Batch, []ulid.ULID, error) {
		return expireInactive(st.oauth2Sessions, now, after, before, limit,
			func(s *storage.OAuth2Session) sessionActivity {
				return sessionActivity{&s.FinishedAt, s.LastActiveAt, s.UserID}
			},
			func(s storage.OAuth2Session) bool {
				return !s.UserID.IsZero() && !st.oauth2Clients.rows[s.ClientID].IsStatic
			})
	})
}

// finishOAuth2Sessions finishes the unfinished sessions match selects and
// returns their IDs.
func (st *state) finishOAuth2Sessions(now time.Time, match func(storage.OAuth2Session) bool) ([]ulid.ULID, error) {
	return finishWhere(st.oauth2Sessions, now, func(s *storage.OAuth2Session) **time.Time { return &s.FinishedAt }, match)
}

// mustClient returns the stored row of client.
func mustClient(st *state, client *storage.OAuth2Client) (storage.OAuth2Client, error) {
	if client == nil {
		return storage.OAuth2Client{}, fmt.Errorf("nil OAuth 2.0 client: %w", storage.ErrInvalidArgument)
	}
	return st.oauth2Clients.must(client.ID)
}

// mustOAuth2Session returns the stored row of session.
func mustOAuth2Session(st *state, session *storage.OAuth2Session) (storage.OAuth2Session, error) {
	if session == nil {
		return storage.OAuth2Session{}, fmt.Errorf("nil OAuth 2.0 session: %w", storage.ErrInvalidArgument)
	}
	return st.oauth2Sessions.must(session.ID)
}

// textArray returns a copy of a text[] NOT NULL value: nil is stored as the
// empty array, as PostgreSQL returns it.
func textArray(v []string) []string {
	if v == nil {
		return []string{}
	}
	return slices.Clone(v)
}
