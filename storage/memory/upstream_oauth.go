package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// upstreamOAuth implements storage.UpstreamOAuthRepository.
type upstreamOAuth struct{ repo }

// AddProvider registers a provider. An empty logout mode is the column's
// default, do_nothing; any other invalid one is ErrInvalidArgument.
func (r upstreamOAuth) AddProvider(ctx context.Context, clock storage.Clock, provider storage.UpstreamOAuthProvider) (*storage.UpstreamOAuthProvider, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UpstreamOAuthProvider, error) {
		const op = "add upstream provider"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if provider.OnBackchannelLogout == "" {
			provider.OnBackchannelLogout = storage.LogoutDoNothing
		}
		if !provider.OnBackchannelLogout.Valid() {
			return nil, fmt.Errorf("%s: logout mode %q: %w", op, provider.OnBackchannelLogout, storage.ErrInvalidArgument)
		}
		provider.ID, provider.CreatedAt = ulidx.New(now), now
		if err := st.providers.insert(provider.ID, provider); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return plain(provider), nil
	})
}

// LookupProvider returns the provider.
func (r upstreamOAuth) LookupProvider(ctx context.Context, id ulid.ULID) (*storage.UpstreamOAuthProvider, error) {
	return query(r.repo, ctx, func(st *state) (*storage.UpstreamOAuthProvider, error) {
		p, err := st.providers.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup upstream provider: %w", err)
		}
		return plain(p), nil
	})
}

// ListProviders returns every provider, oldest first.
func (r upstreamOAuth) ListProviders(ctx context.Context) ([]*storage.UpstreamOAuthProvider, error) {
	return query(r.repo, ctx, func(st *state) ([]*storage.UpstreamOAuthProvider, error) {
		var out []*storage.UpstreamOAuthProvider
		for _, p := range st.providers.rows {
			out = append(out, plain(p))
		}
		slices.SortFunc(out, func(a, b *storage.UpstreamOAuthProvider) int { return byCreation(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
		return out, nil
	})
}

// AddLink links subject at provider to user (nil: to no user yet).
func (r upstreamOAuth) AddLink(ctx context.Context, clock storage.Clock, provider *storage.UpstreamOAuthProvider, subject string, user *storage.User) (*storage.UpstreamOAuthLink, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UpstreamOAuthLink, error) {
		const op = "add upstream link"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if subject == "" {
			return nil, fmt.Errorf("%s: empty subject: %w", op, storage.ErrInvalidArgument)
		}
		p, err := mustProvider(st, provider)
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
		l := storage.UpstreamOAuthLink{ID: ulidx.New(now), ProviderID: p.ID, UserID: userID, Subject: subject, CreatedAt: now}
		if err := st.links.insert(l.ID, l); err != nil {
			return nil, fmt.Errorf("%s %q: %w", op, subject, err)
		}
		return plain(l), nil
	})
}

// AssociateLink ties a link to a user.
func (r upstreamOAuth) AssociateLink(ctx context.Context, link *storage.UpstreamOAuthLink, user *storage.User) (*storage.UpstreamOAuthLink, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UpstreamOAuthLink, error) {
		const op = "associate upstream link"
		l, err := mustLink(st, link)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		u, err := mustUser(st, user)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		l.UserID = u.ID
		if err := st.links.update(l.ID, l); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return plain(l), nil
	})
}

// LookupLink returns the link.
func (r upstreamOAuth) LookupLink(ctx context.Context, id ulid.ULID) (*storage.UpstreamOAuthLink, error) {
	return query(r.repo, ctx, func(st *state) (*storage.UpstreamOAuthLink, error) {
		l, err := st.links.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup upstream link: %w", err)
		}
		return plain(l), nil
	})
}

// FindLink returns the link of subject at provider.
func (r upstreamOAuth) FindLink(ctx context.Context, provider *storage.UpstreamOAuthProvider, subject string) (*storage.UpstreamOAuthLink, error) {
	return query(r.repo, ctx, func(st *state) (*storage.UpstreamOAuthLink, error) {
		if provider == nil {
			return nil, fmt.Errorf("find upstream link: nil provider: %w", storage.ErrInvalidArgument)
		}
		l, ok := st.links.find(uqLinkSubject, provider.ID.String()+"\x00"+subject)
		if !ok {
			return nil, fmt.Errorf("find upstream link %q: %w", subject, storage.ErrNotFound)
		}
		return plain(l), nil
	})
}

// AddSession starts a login at provider.
func (r upstreamOAuth) AddSession(ctx context.Context, clock storage.Clock, provider *storage.UpstreamOAuthProvider, authState, nonce string) (*storage.UpstreamOAuthSession, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UpstreamOAuthSession, error) {
		const op = "add upstream session"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if authState == "" {
			return nil, fmt.Errorf("%s: empty state: %w", op, storage.ErrInvalidArgument)
		}
		p, err := mustProvider(st, provider)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s := storage.UpstreamOAuthSession{ID: ulidx.New(now), ProviderID: p.ID, State: authState, Nonce: nonce, CreatedAt: now}
		if err := st.upstreamSessions.insert(s.ID, s); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneUpstreamSession(s), nil
	})
}

// LookupSession returns the login.
func (r upstreamOAuth) LookupSession(ctx context.Context, id ulid.ULID) (*storage.UpstreamOAuthSession, error) {
	return query(r.repo, ctx, func(st *state) (*storage.UpstreamOAuthSession, error) {
		s, err := st.upstreamSessions.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup upstream session: %w", err)
		}
		return cloneUpstreamSession(s), nil
	})
}

// CompleteSession records the link and ID token claims of a login.
func (r upstreamOAuth) CompleteSession(ctx context.Context, clock storage.Clock, session *storage.UpstreamOAuthSession, link *storage.UpstreamOAuthLink, claims storage.IDTokenClaims) (*storage.UpstreamOAuthSession, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UpstreamOAuthSession, error) {
		const op = "complete upstream session"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s, err := mustUpstreamSession(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		l, err := mustLink(st, link)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if s.CompletedAt != nil {
			return nil, fmt.Errorf("%s %s: already completed: %w", op, s.ID, storage.ErrInvalidState)
		}
		s.LinkID, s.Claims, s.CompletedAt = l.ID, &claims, timeRef(now)
		if err := st.upstreamSessions.update(s.ID, s); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneUpstreamSession(s), nil
	})
}

// ConsumeSession marks a completed login used.
func (r upstreamOAuth) ConsumeSession(ctx context.Context, clock storage.Clock, session *storage.UpstreamOAuthSession) (*storage.UpstreamOAuthSession, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UpstreamOAuthSession, error) {
		const op = "consume upstream session"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s, err := mustUpstreamSession(st, session)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if s.ConsumedAt != nil {
			return nil, fmt.Errorf("%s %s: %w", op, s.ID, storage.ErrAlreadyFinished)
		}
		if s.CompletedAt == nil {
			return nil, fmt.Errorf("%s %s: not completed: %w", op, s.ID, storage.ErrInvalidState)
		}
		s.ConsumedAt = timeRef(now)
		if err := st.upstreamSessions.update(s.ID, s); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneUpstreamSession(s), nil
	})
}

// BackchannelLogout finds the provider's logins matching sub and sid, follows
// them to their browser sessions and finishes what the provider's mode says.
func (r upstreamOAuth) BackchannelLogout(ctx context.Context, clock storage.Clock, provider *storage.UpstreamOAuthProvider, sub, sid string) (*storage.LogoutReport, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.LogoutReport, error) {
		const op = "back-channel logout"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if sub == "" && sid == "" {
			return nil, fmt.Errorf("%s: neither sub nor sid: %w", op, storage.ErrInvalidArgument)
		}
		p, err := mustProvider(st, provider)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if !p.OnBackchannelLogout.Valid() {
			return nil, fmt.Errorf("%s: logout mode %q: %w", op, p.OnBackchannelLogout, storage.ErrInvalidArgument)
		}
		report := &storage.LogoutReport{}
		browsers := idSet{}
		for id, s := range st.upstreamSessions.rows {
			if s.ProviderID != p.ID || s.Claims == nil ||
				(sub != "" && s.Claims.Sub != sub) || (sid != "" && s.Claims.Sid != sid) {
				continue
			}
			report.UpstreamSessions = append(report.UpstreamSessions, id)
			if _, ok := st.userSessions.get(s.UserSessionID); ok {
				browsers[s.UserSessionID] = true
			}
		}
		for id := range browsers {
			report.UserSessions = append(report.UserSessions, id)
		}
		inBrowsers := func(id ulid.ULID) bool { return browsers[id] }
		if p.OnBackchannelLogout != storage.LogoutDoNothing {
			if report.FinishedUserSessions, err = st.finishUserSessions(now, func(s storage.UserSession) bool { return inBrowsers(s.ID) }); err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
		}
		if p.OnBackchannelLogout == storage.LogoutAll {
			if report.FinishedCompatSessions, err = st.finishCompatSessions(now, func(s storage.CompatSession) bool { return inBrowsers(s.UserSessionID) }); err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			if report.FinishedOAuth2Sessions, err = st.finishOAuth2Sessions(now, func(s storage.OAuth2Session) bool { return inBrowsers(s.UserSessionID) }); err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
		}
		for _, s := range [][]ulid.ULID{report.UpstreamSessions, report.UserSessions, report.FinishedUserSessions, report.FinishedCompatSessions, report.FinishedOAuth2Sessions} {
			slices.SortFunc(s, ulid.ULID.Compare)
		}
		return report, nil
	})
}

// CleanupOrphanedLinks deletes links never associated with a user, created
// before `before`, with their logins.
func (r upstreamOAuth) CleanupOrphanedLinks(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up orphaned upstream links", limit, func(st *state) (storage.Batch, error) {
		cands := byAge(st.links.rows, after, before, limit, func(l storage.UpstreamOAuthLink) bool { return l.UserID.IsZero() })
		if len(cands) == 0 {
			return batch(cands, 0, after), nil
		}
		doomed := ids(cands)
		rows := map[string][]ulid.ULID{
			tUpstreamLinks:    doomed,
			tUpstreamSessions: st.upstreamSessions.referencing(fkUpstreamSessionLink, doomed...),
		}
		if err := st.deleteRows(rows); err != nil {
			return storage.Batch{}, err
		}
		return batch(cands, len(cands), after), nil
	})
}

// CleanupOrphanedSessions deletes logins created before `before` whose
// browser session is unset.
func (r upstreamOAuth) CleanupOrphanedSessions(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up orphaned upstream sessions", limit, func(st *state) (storage.Batch, error) {
		cands := byAge(st.upstreamSessions.rows, after, before, limit, func(s storage.UpstreamOAuthSession) bool { return s.UserSessionID.IsZero() })
		return deleteAll(st, tUpstreamSessions, cands, after)
	})
}

// mustProvider returns the stored row of provider.
func mustProvider(st *state, provider *storage.UpstreamOAuthProvider) (storage.UpstreamOAuthProvider, error) {
	if provider == nil {
		return storage.UpstreamOAuthProvider{}, fmt.Errorf("nil upstream provider: %w", storage.ErrInvalidArgument)
	}
	return st.providers.must(provider.ID)
}

// mustLink returns the stored row of link.
func mustLink(st *state, link *storage.UpstreamOAuthLink) (storage.UpstreamOAuthLink, error) {
	if link == nil {
		return storage.UpstreamOAuthLink{}, fmt.Errorf("nil upstream link: %w", storage.ErrInvalidArgument)
	}
	return st.links.must(link.ID)
}

// mustUpstreamSession returns the stored row of session.
func mustUpstreamSession(st *state, session *storage.UpstreamOAuthSession) (storage.UpstreamOAuthSession, error) {
	if session == nil {
		return storage.UpstreamOAuthSession{}, fmt.Errorf("nil upstream session: %w", storage.ErrInvalidArgument)
	}
	return st.upstreamSessions.must(session.ID)
}
