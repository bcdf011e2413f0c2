package postgres

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// oauth2Grants is the storage.OAuth2GrantRepository.
type oauth2Grants struct{ ext sqlx.ExtContext }

const authorizationGrantColumns = `oauth2_authorization_grant_id, oauth2_client_id, authorization_code, redirect_uri, scope,
	created_at, fulfilled_at, exchanged_at, oauth2_session_id, user_session_id`

func scanAuthorizationGrant(row rowScanner) (*storage.OAuth2AuthorizationGrant, error) {
	var g storage.OAuth2AuthorizationGrant
	err := row.Scan(idCol{&g.ID}, idCol{&g.ClientID}, textCol{&g.Code}, &g.RedirectURI, &g.Scope,
		timeCol{&g.CreatedAt}, nullTimeCol{&g.FulfilledAt}, nullTimeCol{&g.ExchangedAt}, idCol{&g.SessionID}, idCol{&g.UserSessionID})
	if err != nil {
		return nil, translate(err)
	}
	return &g, nil
}

const deviceCodeGrantColumns = `oauth2_device_code_grant_id, oauth2_client_id, scope, device_code, user_code,
	created_at, expires_at, fulfilled_at, rejected_at, exchanged_at, oauth2_session_id, user_session_id, ip_address, user_agent`

func scanDeviceCodeGrant(row rowScanner) (*storage.OAuth2DeviceCodeGrant, error) {
	var g storage.OAuth2DeviceCodeGrant
	err := row.Scan(idCol{&g.ID}, idCol{&g.ClientID}, &g.Scope, &g.DeviceCode, &g.UserCode,
		timeCol{&g.CreatedAt}, timeCol{&g.ExpiresAt}, nullTimeCol{&g.FulfilledAt}, nullTimeCol{&g.RejectedAt}, nullTimeCol{&g.ExchangedAt},
		idCol{&g.SessionID}, idCol{&g.UserSessionID}, ipCol{&g.IPAddress}, textCol{&g.UserAgent})
	if err != nil {
		return nil, translate(err)
	}
	return &g, nil
}

// AddAuthorizationGrant starts an authorization-code grant, of response type
// code and response mode query (the columns MAS requires that the domain
// type does not carry).
func (r oauth2Grants) AddAuthorizationGrant(ctx context.Context, clock storage.Clock, client *storage.OAuth2Client, redirectURI, scope, code string) (*storage.OAuth2AuthorizationGrant, error) {
	if client == nil {
		return nil, nilArg("add authorization grant", "client")
	}
	now := storage.Now(clock)
	g := &storage.OAuth2AuthorizationGrant{ID: ulidx.New(now), ClientID: client.ID, Code: code, RedirectURI: redirectURI, Scope: scope, CreatedAt: now}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO oauth2_authorization_grants (oauth2_authorization_grant_id, oauth2_client_id, authorization_code,
			redirect_uri, scope, created_at, response_mode, response_type_code, response_type_id_token)
		VALUES ($1, $2, $3, $4, $5, $6, 'query', true, false)`,
		key(g.ID), key(g.ClientID), textArg(code), redirectURI, scope, now)
	if err != nil {
		return nil, fmt.Errorf("add authorization grant of client %s: %w", client.ID, translate(err))
	}
	return g, nil
}

// LookupAuthorizationGrant returns the grant, or ErrNotFound.
func (r oauth2Grants) LookupAuthorizationGrant(ctx context.Context, id ulid.ULID) (*storage.OAuth2AuthorizationGrant, error) {
	g, err := scanAuthorizationGrant(r.ext.QueryRowxContext(ctx,
		`SELECT `+authorizationGrantColumns+` FROM oauth2_authorization_grants WHERE oauth2_authorization_grant_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup authorization grant %s: %w", id, err)
	}
	return g, nil
}

// FulfillAuthorizationGrant records the session the grant created and the
// browser session that approved it.
func (r oauth2Grants) FulfillAuthorizationGrant(ctx context.Context, clock storage.Clock, grant *storage.OAuth2AuthorizationGrant, session *storage.OAuth2Session, browser *storage.UserSession) (*storage.OAuth2AuthorizationGrant, error) {
	if grant == nil {
		return nil, nilArg("fulfill authorization grant", "grant")
	}
	if session == nil {
		return nil, fmt.Errorf("fulfill authorization grant %s: no session: %w", grant.ID, storage.ErrInvalidArgument)
	}
	var browserID ulid.ULID
	if browser != nil {
		browserID = browser.ID
	}
	g, err := scanAuthorizationGrant(r.ext.QueryRowxContext(ctx, `
		UPDATE oauth2_authorization_grants SET fulfilled_at = $1, oauth2_session_id = $2, user_session_id = $3
		WHERE oauth2_authorization_grant_id = $4 AND fulfilled_at IS NULL
		RETURNING `+authorizationGrantColumns,
		storage.Now(clock), key(session.ID), ref(browserID), key(grant.ID)))
	if err == nil {
		return g, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "oauth2_authorization_grants", "oauth2_authorization_grant_id", grant.ID, storage.ErrInvalidState)
	}
	return nil, fmt.Errorf("fulfill authorization grant %s: %w", grant.ID, err)
}

// ExchangeAuthorizationGrant marks a fulfilled grant's code exchanged.
func (r oauth2Grants) ExchangeAuthorizationGrant(ctx context.Context, clock storage.Clock, grant *storage.OAuth2AuthorizationGrant) (*storage.OAuth2AuthorizationGrant, error) {
	if grant == nil {
		return nil, nilArg("exchange authorization grant", "grant")
	}
	g, err := scanAuthorizationGrant(r.ext.QueryRowxContext(ctx, `
		UPDATE oauth2_authorization_grants SET exchanged_at = $1
		WHERE oauth2_authorization_grant_id = $2 AND fulfilled_at IS NOT NULL AND exchanged_at IS NULL
		RETURNING `+authorizationGrantColumns, storage.Now(clock), key(grant.ID)))
	if err == nil {
		return g, nil
	}
	if noRows(err) {
		var cur *storage.OAuth2AuthorizationGrant
		if cur, err = r.LookupAuthorizationGrant(ctx, grant.ID); err == nil {
			err = finalOrInvalid(cur.ExchangedAt != nil, "not fulfilled")
		}
	}
	return nil, fmt.Errorf("exchange authorization grant %s: %w", grant.ID, err)
}

// finalOrInvalid is why a move to a final state matched nothing: the row is
// in it already (ErrAlreadyFinished), or not ready for it (ErrInvalidState).
func finalOrInvalid(already bool, why string) error {
	if already {
		return storage.ErrAlreadyFinished
	}
	return fmt.Errorf("%s: %w", why, storage.ErrInvalidState)
}

// AddDeviceCodeGrant starts a device-code grant expiring after expiresIn.
func (r oauth2Grants) AddDeviceCodeGrant(ctx context.Context, clock storage.Clock, client *storage.OAuth2Client, scope, deviceCode, userCode string, expiresIn time.Duration, ip netip.Addr, userAgent string) (*storage.OAuth2DeviceCodeGrant, error) {
	if client == nil {
		return nil, nilArg("add device-code grant", "client")
	}
	if deviceCode == "" || userCode == "" {
		return nil, fmt.Errorf("add device-code grant: empty code: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	g := &storage.OAuth2DeviceCodeGrant{
		ID: ulidx.New(now), ClientID: client.ID, Scope: scope, DeviceCode: deviceCode, UserCode: userCode,
		CreatedAt: now, ExpiresAt: storage.Timestamp(now.Add(expiresIn)), IPAddress: ip.WithZone(""), UserAgent: userAgent,
	}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO oauth2_device_code_grant (oauth2_device_code_grant_id, oauth2_client_id, scope, device_code, user_code,
			created_at, expires_at, ip_address, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		key(g.ID), key(g.ClientID), scope, deviceCode, userCode, now, g.ExpiresAt, ipArg(ip), textArg(userAgent))
	if err != nil {
		return nil, fmt.Errorf("add device-code grant of client %s: %w", client.ID, translate(err))
	}
	return g, nil
}

// LookupDeviceCodeGrant returns the grant, or ErrNotFound.
func (r oauth2Grants) LookupDeviceCodeGrant(ctx context.Context, id ulid.ULID) (*storage.OAuth2DeviceCodeGrant, error) {
	g, err := scanDeviceCodeGrant(r.ext.QueryRowxContext(ctx,
		`SELECT `+deviceCodeGrantColumns+` FROM oauth2_device_code_grant WHERE oauth2_device_code_grant_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup device-code grant %s: %w", id, err)
	}
	return g, nil
}

// FulfillDeviceCodeGrant records the browser session that approved it.
func (r oauth2Grants) FulfillDeviceCodeGrant(ctx context.Context, clock storage.Clock, grant *storage.OAuth2DeviceCodeGrant, browser *storage.UserSession) (*storage.OAuth2DeviceCodeGrant, error) {
	if grant == nil {
		return nil, nilArg("fulfill device-code grant", "grant")
	}
	if browser == nil {
		return nil, fmt.Errorf("fulfill device-code grant %s: no browser session: %w", grant.ID, storage.ErrInvalidArgument)
	}
	g, err := scanDeviceCodeGrant(r.ext.QueryRowxContext(ctx, `
		UPDATE oauth2_device_code_grant SET fulfilled_at = $1, user_session_id = $2
		WHERE oauth2_device_code_grant_id = $3 AND fulfilled_at IS NULL AND rejected_at IS NULL
		RETURNING `+deviceCodeGrantColumns, storage.Now(clock), key(browser.ID), key(grant.ID)))
	if err == nil {
		return g, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "oauth2_device_code_grant", "oauth2_device_code_grant_id", grant.ID, storage.ErrInvalidState)
	}
	return nil, fmt.Errorf("fulfill device-code grant %s: %w", grant.ID, err)
}

// ExchangeDeviceCodeGrant records the session the device got.
func (r oauth2Grants) ExchangeDeviceCodeGrant(ctx context.Context, clock storage.Clock, grant *storage.OAuth2DeviceCodeGrant, session *storage.OAuth2Session) (*storage.OAuth2DeviceCodeGrant, error) {
	if grant == nil {
		return nil, nilArg("exchange device-code grant", "grant")
	}
	if session == nil {
		return nil, fmt.Errorf("exchange device-code grant %s: no session: %w", grant.ID, storage.ErrInvalidArgument)
	}
	g, err := scanDeviceCodeGrant(r.ext.QueryRowxContext(ctx, `
		UPDATE oauth2_device_code_grant SET exchanged_at = $1, oauth2_session_id = $2
		WHERE oauth2_device_code_grant_id = $3 AND fulfilled_at IS NOT NULL AND exchanged_at IS NULL
		RETURNING `+deviceCodeGrantColumns, storage.Now(clock), key(session.ID), key(grant.ID)))
	if err == nil {
		return g, nil
	}
	if noRows(err) {
		var cur *storage.OAuth2DeviceCodeGrant
		if cur, err = r.LookupDeviceCodeGrant(ctx, grant.ID); err == nil {
			err = finalOrInvalid(cur.ExchangedAt != nil, "not fulfilled")
		}
	}
	return nil, fmt.Errorf("exchange device-code grant %s: %w", grant.ID, err)
}

// cleanupAuthorizationGrants deletes grants by ULID age; nothing references
// a grant.
var cleanupAuthorizationGrants = deleteByULIDAgeQuery("oauth2_authorization_grants", "oauth2_authorization_grant_id", "")

// cleanupDeviceCodeGrants deletes grants by ULID age; nothing references a
// grant.
var cleanupDeviceCodeGrants = deleteByULIDAgeQuery("oauth2_device_code_grant", "oauth2_device_code_grant_id", "")

// CleanupAuthorizationGrants deletes grants created before `before`.
func (r oauth2Grants) CleanupAuthorizationGrants(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return ulidAgeCleanup(ctx, r.ext, "clean up authorization grants", cleanupAuthorizationGrants, after, before, limit)
}

// CleanupDeviceCodeGrants deletes grants created before `before`.
func (r oauth2Grants) CleanupDeviceCodeGrants(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return ulidAgeCleanup(ctx, r.ext, "clean up device-code grants", cleanupDeviceCodeGrants, after, before, limit)
}

// CountStaleDeviceCodeGrantIPs counts grants holding an IP, created (ULID
// age, as their cleanup) before `before`.
func (r oauth2Grants) CountStaleDeviceCodeGrantIPs(ctx context.Context, before time.Time) (int, error) {
	return count(ctx, r.ext, "count stale device-code grant IPs", `
		SELECT count(*) FROM oauth2_device_code_grant
		WHERE ip_address IS NOT NULL AND oauth2_device_code_grant_id < $1`, key(ulidx.Horizon(before)))
}
