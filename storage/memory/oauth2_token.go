package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// oauth2Tokens implements storage.OAuth2TokenRepository.
type oauth2Tokens struct{ repo }

// AddAccessToken adds an access token expiring after expiresIn (0: never).
func (r oauth2Tokens) AddAccessToken(ctx context.Context, clock storage.Clock, session *storage.OAuth2Session, token string, expiresIn time.Duration) (*storage.OAuth2AccessToken, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.OAuth2AccessToken, error) {
		const op = "add OAuth 2.0 access token"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if token == "" {
			return nil, fmt.Errorf("%s: empty token: %w", op, storage.ErrInvalidArgument)
		}
		s, err := mustOAuth2Session(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		t := storage.OAuth2AccessToken{ID: ulidx.New(now), SessionID: s.ID, Token: token, CreatedAt: now, ExpiresAt: expiry(now, expiresIn)}
		if err := st.oauth2Access.insert(t.ID, t); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneAccessToken(t), nil
	})
}

// LookupAccessToken returns the access token.
func (r oauth2Tokens) LookupAccessToken(ctx context.Context, id ulid.ULID) (*storage.OAuth2AccessToken, error) {
	return query(r.repo, ctx, func(st *state) (*storage.OAuth2AccessToken, error) {
		t, err := st.oauth2Access.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup OAuth 2.0 access token: %w", err)
		}
		return cloneAccessToken(t), nil
	})
}

// FindAccessToken returns the access token with that value.
func (r oauth2Tokens) FindAccessToken(ctx context.Context, token string) (*storage.OAuth2AccessToken, error) {
	return query(r.repo, ctx, func(st *state) (*storage.OAuth2AccessToken, error) {
		t, ok := st.oauth2Access.find(uqOAuth2Access, token)
		if !ok {
			return nil, fmt.Errorf("find OAuth 2.0 access token: %w", storage.ErrNotFound)
		}
		return cloneAccessToken(t), nil
	})
}

// RevokeAccessToken marks it revoked.
func (r oauth2Tokens) RevokeAccessToken(ctx context.Context, clock storage.Clock, token *storage.OAuth2AccessToken) (*storage.OAuth2AccessToken, error) {
	return r.changeAccessToken(ctx, clock, "revoke OAuth 2.0 access token", token, func(t *storage.OAuth2AccessToken, now time.Time) error {
		if t.RevokedAt != nil {
			return storage.ErrAlreadyFinished
		}
		t.RevokedAt = timeRef(now)
		return nil
	})
}

// ExpireAccessToken makes it expire now, if it would expire later.
func (r oauth2Tokens) ExpireAccessToken(ctx context.Context, clock storage.Clock, token *storage.OAuth2AccessToken) (*storage.OAuth2AccessToken, error) {
	return r.changeAccessToken(ctx, clock, "expire OAuth 2.0 access token", token, func(t *storage.OAuth2AccessToken, now time.Time) error {
		if t.ExpiresAt == nil || t.ExpiresAt.After(now) {
			t.ExpiresAt = timeRef(now)
		}
		return nil
	})
}

// changeAccessToken applies change to the stored access token; an error
// change returns is reported for that token.
func (r oauth2Tokens) changeAccessToken(ctx context.Context, clock storage.Clock, op string, token *storage.OAuth2AccessToken, change func(*storage.OAuth2AccessToken, time.Time) error) (*storage.OAuth2AccessToken, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.OAuth2AccessToken, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if token == nil {
			return nil, fmt.Errorf("%s: nil token: %w", op, storage.ErrInvalidArgument)
		}
		t, err := st.oauth2Access.must(token.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := change(&t, now); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, t.ID, err)
		}
		if err := st.oauth2Access.update(t.ID, t); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneAccessToken(t), nil
	})
}

// AddRefreshToken adds a refresh token, paired with access when not nil.
func (r oauth2Tokens) AddRefreshToken(ctx context.Context, clock storage.Clock, session *storage.OAuth2Session, access *storage.OAuth2AccessToken, token string) (*storage.OAuth2RefreshToken, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.OAuth2RefreshToken, error) {
		const op = "add OAuth 2.0 refresh token"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if token == "" {
			return nil, fmt.Errorf("%s: empty token: %w", op, storage.ErrInvalidArgument)
		}
		s, err := mustOAuth2Session(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		var accessID ulid.ULID
		if access != nil {
			a, err := st.oauth2Access.must(access.ID)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			accessID = a.ID
		}
		t := storage.OAuth2RefreshToken{ID: ulidx.New(now), SessionID: s.ID, AccessTokenID: accessID, Token: token, CreatedAt: now}
		if err := st.oauth2Refresh.insert(t.ID, t); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneRefreshToken(t), nil
	})
}

// LookupRefreshToken returns the refresh token.
func (r oauth2Tokens) LookupRefreshToken(ctx context.Context, id ulid.ULID) (*storage.OAuth2RefreshToken, error) {
	return query(r.repo, ctx, func(st *state) (*storage.OAuth2RefreshToken, error) {
		t, err := st.oauth2Refresh.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup OAuth 2.0 refresh token: %w", err)
		}
		return cloneRefreshToken(t), nil
	})
}

// FindRefreshToken returns the refresh token with that value.
func (r oauth2Tokens) FindRefreshToken(ctx context.Context, token string) (*storage.OAuth2RefreshToken, error) {
	return query(r.repo, ctx, func(st *state) (*storage.OAuth2RefreshToken, error) {
		t, ok := st.oauth2Refresh.find(uqOAuth2Refresh, token)
		if !ok {
			return nil, fmt.Errorf("find OAuth 2.0 refresh token: %w", storage.ErrNotFound)
		}
		return cloneRefreshToken(t), nil
	})
}

// ConsumeRefreshToken marks it consumed, naming next as its successor.
func (r oauth2Tokens) ConsumeRefreshToken(ctx context.Context, clock storage.Clock, token *storage.OAuth2RefreshToken, next *storage.OAuth2RefreshToken) (*storage.OAuth2RefreshToken, error) {
	return r.changeRefreshToken(ctx, clock, "consume OAuth 2.0 refresh token", token, func(st *state, t *storage.OAuth2RefreshToken, now time.Time) error {
		if t.ConsumedAt != nil {
			return storage.ErrAlreadyFinished
		}
		if next != nil {
			n, err := st.oauth2Refresh.must(next.ID)
			if err != nil {
				return err
			}
			t.NextID = n.ID
		}
		t.ConsumedAt = timeRef(now)
		return nil
	})
}

// RevokeRefreshToken marks it revoked.
func (r oauth2Tokens) RevokeRefreshToken(ctx context.Context, clock storage.Clock, token *storage.OAuth2RefreshToken) (*storage.OAuth2RefreshToken, error) {
	return r.changeRefreshToken(ctx, clock, "revoke OAuth 2.0 refresh token", token, func(_ *state, t *storage.OAuth2RefreshToken, now time.Time) error {
		if t.RevokedAt != nil {
			return storage.ErrAlreadyFinished
		}
		t.RevokedAt = timeRef(now)
		return nil
	})
}

// changeRefreshToken applies change to the stored refresh token.
func (r oauth2Tokens) changeRefreshToken(ctx context.Context, clock storage.Clock, op string, token *storage.OAuth2RefreshToken, change func(*state, *storage.OAuth2RefreshToken, time.Time) error) (*storage.OAuth2RefreshToken, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.OAuth2RefreshToken, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if token == nil {
			return nil, fmt.Errorf("%s: nil token: %w", op, storage.ErrInvalidArgument)
		}
		t, err := st.oauth2Refresh.must(token.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := change(st, &t, now); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, t.ID, err)
		}
		if err := st.oauth2Refresh.update(t.ID, t); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneRefreshToken(t), nil
	})
}

// CleanupRevokedAccessTokens deletes access tokens revoked before `before`.
func (r oauth2Tokens) CleanupRevokedAccessTokens(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up revoked OAuth 2.0 access tokens", limit, func(st *state) (storage.Batch, error) {
		cands := byTime(st.oauth2Access.rows, after, before, limit, func(t storage.OAuth2AccessToken) *time.Time { return t.RevokedAt })
		return deleteAll(st, tOAuth2AccessTokens, cands, after)
	})
}

// CleanupExpiredAccessTokens deletes access tokens that expired before `before`.
func (r oauth2Tokens) CleanupExpiredAccessTokens(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up expired OAuth 2.0 access tokens", limit, func(st *state) (storage.Batch, error) {
		cands := byTime(st.oauth2Access.rows, after, before, limit, func(t storage.OAuth2AccessToken) *time.Time { return t.ExpiresAt })
		return deleteAll(st, tOAuth2AccessTokens, cands, after)
	})
}

// CleanupRevokedRefreshTokens deletes refresh tokens revoked before `before`.
func (r oauth2Tokens) CleanupRevokedRefreshTokens(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up revoked OAuth 2.0 refresh tokens", limit, func(st *state) (storage.Batch, error) {
		cands := byTime(st.oauth2Refresh.rows, after, before, limit, func(t storage.OAuth2RefreshToken) *time.Time { return t.RevokedAt })
		return deleteAll(st, tOAuth2RefreshTokens, cands, after)
	})
}

// CleanupConsumedRefreshTokens deletes refresh tokens consumed before
// `before` whose successor is none or itself consumed; the others are
// skipped.
func (r oauth2Tokens) CleanupConsumedRefreshTokens(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up consumed OAuth 2.0 refresh tokens", limit, func(st *state) (storage.Batch, error) {
		cands := byTime(st.oauth2Refresh.rows, after, before, limit, func(t storage.OAuth2RefreshToken) *time.Time { return t.ConsumedAt })
		var del []ulid.ULID
		for _, c := range cands {
			t := st.oauth2Refresh.rows[c.id]
			if next, ok := st.oauth2Refresh.get(t.NextID); ok && next.ConsumedAt == nil {
				continue // a live rotation chain
			}
			del = append(del, c.id)
		}
		if err := st.deleteRows(map[string][]ulid.ULID{tOAuth2RefreshTokens: del}); err != nil {
			return storage.Batch{}, err
		}
		return batch(cands, len(del), after), nil
	})
}
