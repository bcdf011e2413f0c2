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

// oauth2Grants implements storage.OAuth2GrantRepository.
type oauth2Grants struct{ repo }

// AddAuthorizationGrant starts an authorization-code grant. An empty code is
// stored as none (NULL), which is not unique.
func (r oauth2Grants) AddAuthorizationGrant(ctx context.Context, clock storage.Clock, client *storage.OAuth2Client, redirectURI, scope, code string) (*storage.OAuth2AuthorizationGrant, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.OAuth2AuthorizationGrant, error) {
		const op = "add authorization grant"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		c, err := mustClient(st, client)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		g := storage.OAuth2AuthorizationGrant{ID: ulidx.New(now), ClientID: c.ID, Code: code, RedirectURI: redirectURI, Scope: scope, CreatedAt: now}
		if err := st.authGrants.insert(g.ID, g); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneAuthGrant(g), nil
	})
}

// LookupAuthorizationGrant returns the grant.
func (r oauth2Grants) LookupAuthorizationGrant(ctx context.Context, id ulid.ULID) (*storage.OAuth2AuthorizationGrant, error) {
	return query(r.repo, ctx, func(st *state) (*storage.OAuth2AuthorizationGrant, error) {
		g, err := st.authGrants.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup authorization grant: %w", err)
		}
		return cloneAuthGrant(g), nil
	})
}

// FulfillAuthorizationGrant records the session the grant created and the
// browser session that approved it.
func (r oauth2Grants) FulfillAuthorizationGrant(ctx context.Context, clock storage.Clock, grant *storage.OAuth2AuthorizationGrant, session *storage.OAuth2Session, browser *storage.UserSession) (*storage.OAuth2AuthorizationGrant, error) {
	return r.changeAuthGrant(ctx, clock, "fulfill authorization grant", grant, func(st *state, g *storage.OAuth2AuthorizationGrant, now time.Time) error {
		s, err := mustOAuth2Session(st, session)
		if err != nil {
			return err
		}
		browserID, err := optUserSession(st, browser)
		if err != nil {
			return err
		}
		if g.FulfilledAt != nil {
			return fmt.Errorf("already fulfilled: %w", storage.ErrInvalidState)
		}
		g.FulfilledAt, g.SessionID, g.UserSessionID = timeRef(now), s.ID, browserID
		return nil
	})
}

// ExchangeAuthorizationGrant marks a fulfilled grant's code exchanged.
func (r oauth2Grants) ExchangeAuthorizationGrant(ctx context.Context, clock storage.Clock, grant *storage.OAuth2AuthorizationGrant) (*storage.OAuth2AuthorizationGrant, error) {
	return r.changeAuthGrant(ctx, clock, "exchange authorization grant", grant, func(_ *state, g *storage.OAuth2AuthorizationGrant, now time.Time) error {
		if g.ExchangedAt != nil {
			return storage.ErrAlreadyFinished
		}
		if g.FulfilledAt == nil {
			return fmt.Errorf("not fulfilled: %w", storage.ErrInvalidState)
		}
		g.ExchangedAt = timeRef(now)
		return nil
	})
}

// changeAuthGrant applies change to the stored grant.
func (r oauth2Grants) changeAuthGrant(ctx context.Context, clock storage.Clock, op string, grant *storage.OAuth2AuthorizationGrant, change func(*state, *storage.OAuth2AuthorizationGrant, time.Time) error) (*storage.OAuth2AuthorizationGrant, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.OAuth2AuthorizationGrant, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if grant == nil {
			return nil, fmt.Errorf("%s: nil grant: %w", op, storage.ErrInvalidArgument)
		}
		g, err := st.authGrants.must(grant.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := change(st, &g, now); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, g.ID, err)
		}
		if err := st.authGrants.update(g.ID, g); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneAuthGrant(g), nil
	})
}

// AddDeviceCodeGrant starts a device-code grant expiring after expiresIn.
func (r oauth2Grants) AddDeviceCodeGrant(ctx context.Context, clock storage.Clock, client *storage.OAuth2Client, scope, deviceCode, userCode string, expiresIn time.Duration, ip netip.Addr, userAgent string) (*storage.OAuth2DeviceCodeGrant, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.OAuth2DeviceCodeGrant, error) {
		const op = "add device-code grant"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if deviceCode == "" || userCode == "" {
			return nil, fmt.Errorf("%s: empty code: %w", op, storage.ErrInvalidArgument)
		}
		c, err := mustClient(st, client)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		g := storage.OAuth2DeviceCodeGrant{
			ID: ulidx.New(now), ClientID: c.ID, Scope: scope, DeviceCode: deviceCode, UserCode: userCode,
			CreatedAt: now, ExpiresAt: storage.Timestamp(now.Add(expiresIn)), IPAddress: inet(ip), UserAgent: userAgent,
		}
		if err := st.deviceGrants.insert(g.ID, g); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneDeviceGrant(g), nil
	})
}

// LookupDeviceCodeGrant returns the grant.
func (r oauth2Grants) LookupDeviceCodeGrant(ctx context.Context, id ulid.ULID) (*storage.OAuth2DeviceCodeGrant, error) {
	return query(r.repo, ctx, func(st *state) (*storage.OAuth2DeviceCodeGrant, error) {
		g, err := st.deviceGrants.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup device-code grant: %w", err)
		}
		return cloneDeviceGrant(g), nil
	})
}

// FulfillDeviceCodeGrant records the browser session that approved it.
func (r oauth2Grants) FulfillDeviceCodeGrant(ctx context.Context, clock storage.Clock, grant *storage.OAuth2DeviceCodeGrant, browser *storage.UserSession) (*storage.OAuth2DeviceCodeGrant, error) {
	return r.changeDeviceGrant(ctx, clock, "fulfill device-code grant", grant, func(st *state, g *storage.OAuth2DeviceCodeGrant, now time.Time) error {
		b, err := mustUserSession(st, browser)
		if err != nil {
			return err
		}
		if g.FulfilledAt != nil || g.RejectedAt != nil {
			return fmt.Errorf("already fulfilled or rejected: %w", storage.ErrInvalidState)
		}
		g.FulfilledAt, g.UserSessionID = timeRef(now), b.ID
		return nil
	})
}

// ExchangeDeviceCodeGrant records the session the device got.
func (r oauth2Grants) ExchangeDeviceCodeGrant(ctx context.Context, clock storage.Clock, grant *storage.OAuth2DeviceCodeGrant, session *storage.OAuth2Session) (*storage.OAuth2DeviceCodeGrant, error) {
	return r.changeDeviceGrant(ctx, clock, "exchange device-code grant", grant, func(st *state, g *storage.OAuth2DeviceCodeGrant, now time.Time) error {
		s, err := mustOAuth2Session(st, session)
		if err != nil {
			return err
		}
		if g.ExchangedAt != nil {
			return storage.ErrAlreadyFinished
		}
		if g.FulfilledAt == nil {
			return fmt.Errorf("not fulfilled: %w", storage.ErrInvalidState)
		}
		g.ExchangedAt, g.SessionID = timeRef(now), s.ID
		return nil
	})
}

// changeDeviceGrant applies change to the stored grant.
func (r oauth2Grants) changeDeviceGrant(ctx context.Context, clock storage.Clock, op string, grant *storage.OAuth2DeviceCodeGrant, change func(*state, *storage.OAuth2DeviceCodeGrant, time.Time) error) (*storage.OAuth2DeviceCodeGrant, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.OAuth2DeviceCodeGrant, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if grant == nil {
			return nil, fmt.Errorf("%s: nil grant: %w", op, storage.ErrInvalidArgument)
		}
		g, err := st.deviceGrants.must(grant.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := change(st, &g, now); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, g.ID, err)
		}
		if err := st.deviceGrants.update(g.ID, g); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return cloneDeviceGrant(g), nil
	})
}

// CleanupAuthorizationGrants deletes grants created before `before`.
func (r oauth2Grants) CleanupAuthorizationGrants(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up authorization grants", limit, func(st *state) (storage.Batch, error) {
		cands := byAge(st.authGrants.rows, after, before, limit, func(storage.OAuth2AuthorizationGrant) bool { return true })
		return deleteAll(st, tAuthorizationGrants, cands, after)
	})
}

// CleanupDeviceCodeGrants deletes grants created before `before`.
func (r oauth2Grants) CleanupDeviceCodeGrants(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up device-code grants", limit, func(st *state) (storage.Batch, error) {
		cands := byAge(st.deviceGrants.rows, after, before, limit, func(storage.OAuth2DeviceCodeGrant) bool { return true })
		return deleteAll(st, tDeviceCodeGrants, cands, after)
	})
}

// CountStaleDeviceCodeGrantIPs counts grants holding an IP, created before `before`.
func (r oauth2Grants) CountStaleDeviceCodeGrantIPs(ctx context.Context, before time.Time) (int, error) {
	return r.count(ctx, func(st *state) int {
		return countOlder(st.deviceGrants.rows, before, func(g storage.OAuth2DeviceCodeGrant) bool { return g.IPAddress.IsValid() })
	})
}
