package storage

import (
	"context"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"
)

// OAuth2AuthorizationGrant is an authorization-code grant in progress.
type OAuth2AuthorizationGrant struct {
	ID            ulid.ULID
	ClientID      ulid.ULID
	Code          string
	RedirectURI   string
	Scope         string
	CreatedAt     time.Time
	FulfilledAt   *time.Time
	ExchangedAt   *time.Time
	SessionID     ulid.ULID // set when fulfilled
	UserSessionID ulid.ULID // the browser session that approved it
}

// OAuth2DeviceCodeGrant is a device-authorization grant in progress.
type OAuth2DeviceCodeGrant struct {
	ID            ulid.ULID
	ClientID      ulid.ULID
	Scope         string
	DeviceCode    string
	UserCode      string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	FulfilledAt   *time.Time
	RejectedAt    *time.Time
	ExchangedAt   *time.Time
	SessionID     ulid.ULID // set when exchanged
	UserSessionID ulid.ULID // the browser session that approved or rejected it
	IPAddress     netip.Addr
	UserAgent     string
}

// OAuth2GrantRepository stores authorization-code and device-code grants.
type OAuth2GrantRepository interface {
	// AddAuthorizationGrant starts an authorization-code grant.
	AddAuthorizationGrant(ctx context.Context, clock Clock, client *OAuth2Client, redirectURI, scope, code string) (*OAuth2AuthorizationGrant, error)
	// LookupAuthorizationGrant returns the grant, or ErrNotFound.
	LookupAuthorizationGrant(ctx context.Context, id ulid.ULID) (*OAuth2AuthorizationGrant, error)
	// FulfillAuthorizationGrant records the session the grant created and the
	// browser session that approved it; twice is ErrInvalidState.
	FulfillAuthorizationGrant(ctx context.Context, clock Clock, grant *OAuth2AuthorizationGrant, session *OAuth2Session, browser *UserSession) (*OAuth2AuthorizationGrant, error)
	// ExchangeAuthorizationGrant marks a fulfilled grant's code exchanged;
	// twice is ErrAlreadyFinished, before fulfilment ErrInvalidState.
	ExchangeAuthorizationGrant(ctx context.Context, clock Clock, grant *OAuth2AuthorizationGrant) (*OAuth2AuthorizationGrant, error)

	// AddDeviceCodeGrant starts a device-code grant expiring after expiresIn.
	AddDeviceCodeGrant(ctx context.Context, clock Clock, client *OAuth2Client, scope, deviceCode, userCode string, expiresIn time.Duration, ip netip.Addr, userAgent string) (*OAuth2DeviceCodeGrant, error)
	// LookupDeviceCodeGrant returns the grant, or ErrNotFound.
	LookupDeviceCodeGrant(ctx context.Context, id ulid.ULID) (*OAuth2DeviceCodeGrant, error)
	// FulfillDeviceCodeGrant records the browser session that approved it;
	// a grant already fulfilled or rejected is ErrInvalidState.
	FulfillDeviceCodeGrant(ctx context.Context, clock Clock, grant *OAuth2DeviceCodeGrant, browser *UserSession) (*OAuth2DeviceCodeGrant, error)
	// ExchangeDeviceCodeGrant records the session the device got; twice is
	// ErrAlreadyFinished, before fulfilment ErrInvalidState.
	ExchangeDeviceCodeGrant(ctx context.Context, clock Clock, grant *OAuth2DeviceCodeGrant, session *OAuth2Session) (*OAuth2DeviceCodeGrant, error)

	// CleanupAuthorizationGrants deletes grants created (ULID age) before
	// `before`. See CleanupFunc.
	CleanupAuthorizationGrants(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CleanupDeviceCodeGrants deletes grants created (ULID age) before
	// `before`. See CleanupFunc.
	CleanupDeviceCodeGrants(ctx context.Context, after Cursor, before time.Time, limit int) (Batch, error)
	// CountStaleDeviceCodeGrantIPs counts grants holding an IP, created before `before`.
	CountStaleDeviceCodeGrantIPs(ctx context.Context, before time.Time) (int, error)
}
