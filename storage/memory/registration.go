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

// registrations implements storage.RegistrationRepository.
type registrations struct{ repo }

// Add starts a registration.
func (r registrations) Add(ctx context.Context, clock storage.Clock, username string, ip netip.Addr, userAgent string) (*storage.Registration, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.Registration, error) {
		const op = "add registration"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if username == "" {
			return nil, fmt.Errorf("%s: empty username: %w", op, storage.ErrInvalidArgument)
		}
		g := storage.Registration{ID: ulidx.New(now), Username: username, IPAddress: inet(ip), UserAgent: userAgent, CreatedAt: now}
		if err := st.registrations.insert(g.ID, g); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneRegistration(g), nil
	})
}

// Lookup returns the registration.
func (r registrations) Lookup(ctx context.Context, id ulid.ULID) (*storage.Registration, error) {
	return query(r.repo, ctx, func(st *state) (*storage.Registration, error) {
		g, err := st.registrations.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup registration: %w", err)
		}
		return cloneRegistration(g), nil
	})
}

// SetEmailAuthentication records the email authentication of the registration.
func (r registrations) SetEmailAuthentication(ctx context.Context, registration *storage.Registration, auth *storage.EmailAuthentication) (*storage.Registration, error) {
	return r.change(ctx, "set registration email authentication", registration, func(st *state, g *storage.Registration) error {
		a, err := mustEmailAuth(st, auth)
		if err != nil {
			return err
		}
		g.EmailAuthenticationID = a.ID
		return nil
	})
}

// SetUpstreamSession records the upstream login the registration came from.
func (r registrations) SetUpstreamSession(ctx context.Context, registration *storage.Registration, upstream *storage.UpstreamOAuthSession) (*storage.Registration, error) {
	return r.change(ctx, "set registration upstream session", registration, func(st *state, g *storage.Registration) error {
		u, err := mustUpstreamSession(st, upstream)
		if err != nil {
			return err
		}
		g.UpstreamSessionID = u.ID
		return nil
	})
}

// Complete marks it completed.
func (r registrations) Complete(ctx context.Context, clock storage.Clock, registration *storage.Registration) (*storage.Registration, error) {
	return r.change(ctx, "complete registration", registration, func(_ *state, g *storage.Registration) error {
		now, err := now(clock)
		if err != nil {
			return err
		}
		if g.CompletedAt != nil {
			return storage.ErrAlreadyFinished
		}
		g.CompletedAt = timeRef(now)
		return nil
	})
}

// change applies change to the stored registration.
func (r registrations) change(ctx context.Context, op string, registration *storage.Registration, change func(*state, *storage.Registration) error) (*storage.Registration, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.Registration, error) {
		if registration == nil {
			return nil, fmt.Errorf("%s: nil registration: %w", op, storage.ErrInvalidArgument)
		}
		g, err := st.registrations.must(registration.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := change(st, &g); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, g.ID, err)
		}
		if err := st.registrations.update(g.ID, g); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneRegistration(g), nil
	})
}

// AddEmailAuthentication starts an email authentication for a browser
// session or a registration.
func (r registrations) AddEmailAuthentication(ctx context.Context, clock storage.Clock, email string, browser *storage.UserSession, registration *storage.Registration) (*storage.EmailAuthentication, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.EmailAuthentication, error) {
		const op = "add email authentication"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if (browser == nil) == (registration == nil) {
			return nil, fmt.Errorf("%s: need exactly one of browser session and registration: %w", op, storage.ErrInvalidArgument)
		}
		a := storage.EmailAuthentication{ID: ulidx.New(now), Email: email, CreatedAt: now}
		if browser != nil {
			b, err := st.userSessions.must(browser.ID)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			a.UserSessionID = b.ID
		} else {
			g, err := st.registrations.must(registration.ID)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			a.RegistrationID = g.ID
		}
		if err := st.emailAuths.insert(a.ID, a); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneEmailAuth(a), nil
	})
}

// LookupEmailAuthentication returns it.
func (r registrations) LookupEmailAuthentication(ctx context.Context, id ulid.ULID) (*storage.EmailAuthentication, error) {
	return query(r.repo, ctx, func(st *state) (*storage.EmailAuthentication, error) {
		a, err := st.emailAuths.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup email authentication: %w", err)
		}
		return cloneEmailAuth(a), nil
	})
}

// AddEmailAuthenticationCode adds a code expiring after expiresIn.
func (r registrations) AddEmailAuthenticationCode(ctx context.Context, clock storage.Clock, auth *storage.EmailAuthentication, code string, expiresIn time.Duration) (*storage.EmailAuthenticationCode, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.EmailAuthenticationCode, error) {
		const op = "add email authentication code"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if code == "" {
			return nil, fmt.Errorf("%s: empty code: %w", op, storage.ErrInvalidArgument)
		}
		a, err := mustEmailAuth(st, auth)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		c := storage.EmailAuthenticationCode{ID: ulidx.New(now), AuthenticationID: a.ID, Code: code, CreatedAt: now, ExpiresAt: storage.Timestamp(now.Add(expiresIn))}
		if err := st.emailAuthCodes.insert(c.ID, c); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return plain(c), nil
	})
}

// CompleteEmailAuthentication completes it with one of its unexpired codes.
func (r registrations) CompleteEmailAuthentication(ctx context.Context, clock storage.Clock, auth *storage.EmailAuthentication, code string) (*storage.EmailAuthentication, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.EmailAuthentication, error) {
		const op = "complete email authentication"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		a, err := mustEmailAuth(st, auth)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if a.CompletedAt != nil {
			return nil, fmt.Errorf("%s %s: %w", op, a.ID, storage.ErrAlreadyFinished)
		}
		c, ok := st.emailAuthCodes.find(uqEmailAuthCode, a.ID.String()+"\x00"+code)
		if !ok {
			return nil, fmt.Errorf("%s %s: code: %w", op, a.ID, storage.ErrNotFound)
		}
		if !c.ExpiresAt.After(now) {
			return nil, fmt.Errorf("%s %s: code expired: %w", op, a.ID, storage.ErrInvalidState)
		}
		a.CompletedAt = timeRef(now)
		if err := st.emailAuths.update(a.ID, a); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneEmailAuth(a), nil
	})
}

// CleanupRegistrations deletes registrations created before `before`, with
// their email authentications.
func (r registrations) CleanupRegistrations(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up registrations", limit, func(st *state) (storage.Batch, error) {
		cands := byAge(st.registrations.rows, after, before, limit, func(storage.Registration) bool { return true })
		return deleteAll(st, tRegistrations, cands, after)
	})
}

// CleanupEmailAuthentications deletes email authentications created before
// `before`, with their codes.
func (r registrations) CleanupEmailAuthentications(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up email authentications", limit, func(st *state) (storage.Batch, error) {
		cands := byAge(st.emailAuths.rows, after, before, limit, func(storage.EmailAuthentication) bool { return true })
		return deleteAll(st, tEmailAuthentications, cands, after)
	})
}

// CountStaleIPs counts registrations holding an IP, created before `before`.
func (r registrations) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return r.count(ctx, func(st *state) int {
		return countOlder(st.registrations.rows, before, func(g storage.Registration) bool { return g.IPAddress.IsValid() })
	})
}

// mustEmailAuth returns the stored row of auth.
func mustEmailAuth(st *state, auth *storage.EmailAuthentication) (storage.EmailAuthentication, error) {
	if auth == nil {
		return storage.EmailAuthentication{}, fmt.Errorf("nil email authentication: %w", storage.ErrInvalidArgument)
	}
	return st.emailAuths.must(auth.ID)
}
