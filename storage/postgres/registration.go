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

// registrations is the storage.RegistrationRepository.
type registrations struct{ ext sqlx.ExtContext }

const registrationColumns = `user_registration_id, username, ip_address, user_agent, created_at, completed_at,
	email_authentication_id, upstream_oauth_authorization_session_id`

func scanRegistration(row rowScanner) (*storage.Registration, error) {
	var g storage.Registration
	err := row.Scan(idCol{&g.ID}, &g.Username, ipCol{&g.IPAddress}, textCol{&g.UserAgent}, timeCol{&g.CreatedAt},
		nullTimeCol{&g.CompletedAt}, idCol{&g.EmailAuthenticationID}, idCol{&g.UpstreamSessionID})
	if err != nil {
		return nil, translate(err)
	}
	return &g, nil
}

const emailAuthenticationColumns = `user_email_authentication_id, email, user_session_id, user_registration_id, created_at, completed_at`

func scanEmailAuthentication(row rowScanner) (*storage.EmailAuthentication, error) {
	var a storage.EmailAuthentication
	err := row.Scan(idCol{&a.ID}, &a.Email, idCol{&a.UserSessionID}, idCol{&a.RegistrationID},
		timeCol{&a.CreatedAt}, nullTimeCol{&a.CompletedAt})
	if err != nil {
		return nil, translate(err)
	}
	return &a, nil
}

const emailAuthenticationCodeColumns = `user_email_authentication_code_id, user_email_authentication_id, code, created_at, expires_at`

func scanEmailAuthenticationCode(row rowScanner) (*storage.EmailAuthenticationCode, error) {
	var c storage.EmailAuthenticationCode
	err := row.Scan(idCol{&c.ID}, idCol{&c.AuthenticationID}, &c.Code, timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt})
	if err != nil {
		return nil, translate(err)
	}
	return &c, nil
}

// Add starts a registration.
func (r registrations) Add(ctx context.Context, clock storage.Clock, username string, ip netip.Addr, userAgent string) (*storage.Registration, error) {
	if username == "" {
		return nil, fmt.Errorf("add registration: empty username: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	g := &storage.Registration{ID: ulidx.New(now), Username: username, IPAddress: ip.WithZone(""), UserAgent: userAgent, CreatedAt: now}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO user_registrations (user_registration_id, username, ip_address, user_agent, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		key(g.ID), username, ipArg(ip), textArg(userAgent), now)
	if err != nil {
		return nil, fmt.Errorf("add registration %q: %w", username, translate(err))
	}
	return g, nil
}

// Lookup returns the registration, or ErrNotFound.
func (r registrations) Lookup(ctx context.Context, id ulid.ULID) (*storage.Registration, error) {
	g, err := scanRegistration(r.ext.QueryRowxContext(ctx,
		`SELECT `+registrationColumns+` FROM user_registrations WHERE user_registration_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup registration %s: %w", id, err)
	}
	return g, nil
}

// SetEmailAuthentication records the email authentication of the registration.
func (r registrations) SetEmailAuthentication(ctx context.Context, registration *storage.Registration, auth *storage.EmailAuthentication) (*storage.Registration, error) {
	if registration == nil {
		return nil, nilArg("set email authentication", "registration")
	}
	if auth == nil {
		return nil, fmt.Errorf("set email authentication of registration %s: none given: %w", registration.ID, storage.ErrInvalidArgument)
	}
	g, err := scanRegistration(r.ext.QueryRowxContext(ctx, `
		UPDATE user_registrations SET email_authentication_id = $1 WHERE user_registration_id = $2
		RETURNING `+registrationColumns, key(auth.ID), key(registration.ID)))
	if err != nil {
		return nil, fmt.Errorf("set email authentication of registration %s: %w", registration.ID, err)
	}
	return g, nil
}

// SetUpstreamSession records the upstream login the registration came from.
func (r registrations) SetUpstreamSession(ctx context.Context, registration *storage.Registration, upstream *storage.UpstreamOAuthSession) (*storage.Registration, error) {
	if registration == nil {
		return nil, nilArg("set upstream login", "registration")
	}
	if upstream == nil {
		return nil, fmt.Errorf("set upstream login of registration %s: none given: %w", registration.ID, storage.ErrInvalidArgument)
	}
	g, err := scanRegistration(r.ext.QueryRowxContext(ctx, `
		UPDATE user_registrations SET upstream_oauth_authorization_session_id = $1 WHERE user_registration_id = $2
		RETURNING `+registrationColumns, key(upstream.ID), key(registration.ID)))
	if err != nil {
		return nil, fmt.Errorf("set upstream login of registration %s: %w", registration.ID, err)
	}
	return g, nil
}

// Complete marks it completed.
func (r registrations) Complete(ctx context.Context, clock storage.Clock, registration *storage.Registration) (*storage.Registration, error) {
	if registration == nil {
		return nil, nilArg("complete registration", "registration")
	}
	g, err := scanRegistration(r.ext.QueryRowxContext(ctx, `
		UPDATE user_registrations SET completed_at = $1
		WHERE user_registration_id = $2 AND completed_at IS NULL
		RETURNING `+registrationColumns, storage.Now(clock), key(registration.ID)))
	if err == nil {
		return g, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "user_registrations", "user_registration_id", registration.ID, storage.ErrAlreadyFinished)
	}
	return nil, fmt.Errorf("complete registration %s: %w", registration.ID, err)
}

// AddEmailAuthentication starts an email authentication for a browser
// session or a registration.
func (r registrations) AddEmailAuthentication(ctx context.Context, clock storage.Clock, email string, browser *storage.UserSession, registration *storage.Registration) (*storage.EmailAuthentication, error) {
	if (browser == nil) == (registration == nil) {
		return nil, fmt.Errorf("add email authentication: need a browser session or a registration: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	a := &storage.EmailAuthentication{ID: ulidx.New(now), Email: email, CreatedAt: now}
	if browser != nil {
		a.UserSessionID = browser.ID
	} else {
		a.RegistrationID = registration.ID
	}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO user_email_authentications (user_email_authentication_id, email, user_session_id, user_registration_id, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		key(a.ID), email, ref(a.UserSessionID), ref(a.RegistrationID), now)
	if err != nil {
		return nil, fmt.Errorf("add email authentication: %w", translate(err))
	}
	return a, nil
}

// LookupEmailAuthentication returns it, or ErrNotFound.
func (r registrations) LookupEmailAuthentication(ctx context.Context, id ulid.ULID) (*storage.EmailAuthentication, error) {
	a, err := scanEmailAuthentication(r.ext.QueryRowxContext(ctx,
		`SELECT `+emailAuthenticationColumns+` FROM user_email_authentications WHERE user_email_authentication_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup email authentication %s: %w", id, err)
	}
	return a, nil
}

// AddEmailAuthenticationCode adds a code expiring after expiresIn.
func (r registrations) AddEmailAuthenticationCode(ctx context.Context, clock storage.Clock, auth *storage.EmailAuthentication, code string, expiresIn time.Duration) (*storage.EmailAuthenticationCode, error) {
	if auth == nil {
		return nil, nilArg("add email authentication code", "auth")
	}
	if code == "" {
		return nil, fmt.Errorf("add email authentication code: empty code: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	c := &storage.EmailAuthenticationCode{ID: ulidx.New(now), AuthenticationID: auth.ID, Code: code,
		CreatedAt: now, ExpiresAt: storage.Timestamp(now.Add(expiresIn))}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO user_email_authentication_codes (user_email_authentication_code_id, user_email_authentication_id, code, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`,
		key(c.ID), key(c.AuthenticationID), code, now, c.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("add code of email authentication %s: %w", auth.ID, translate(err))
	}
	return c, nil
}

// CompleteEmailAuthentication completes it with one of its unexpired codes,
// in one statement: the code is checked where the authentication is
// updated.
func (r registrations) CompleteEmailAuthentication(ctx context.Context, clock storage.Clock, auth *storage.EmailAuthentication, code string) (*storage.EmailAuthentication, error) {
	if auth == nil {
		return nil, nilArg("complete email authentication", "auth")
	}
	now := storage.Now(clock)
	a, err := scanEmailAuthentication(r.ext.QueryRowxContext(ctx, `
		UPDATE user_email_authentications SET completed_at = $1
		WHERE user_email_authentication_id = $2 AND completed_at IS NULL
		  AND EXISTS (SELECT 1 FROM user_email_authentication_codes
		              WHERE user_email_authentication_id = $2 AND code = $3 AND expires_at > $1)
		RETURNING `+emailAuthenticationColumns, now, key(auth.ID), code))
	if err == nil {
		return a, nil
	}
	if noRows(err) {
		err = r.whyNotCompleted(ctx, now, auth.ID, code)
	}
	return nil, fmt.Errorf("complete email authentication %s: %w", auth.ID, err)
}

// whyNotCompleted explains a completion that matched nothing: no such
// authentication or code (ErrNotFound), completed already
// (ErrAlreadyFinished), or an expired code (ErrInvalidState).
func (r registrations) whyNotCompleted(ctx context.Context, now time.Time, id ulid.ULID, code string) error {
	cur, err := r.LookupEmailAuthentication(ctx, id)
	if err != nil {
		return err
	}
	if cur.CompletedAt != nil {
		return storage.ErrAlreadyFinished
	}
	c, err := scanEmailAuthenticationCode(r.ext.QueryRowxContext(ctx, `
		SELECT `+emailAuthenticationCodeColumns+` FROM user_email_authentication_codes
		WHERE user_email_authentication_id = $1 AND code = $2`, key(id), code))
	if err != nil {
		return fmt.Errorf("code: %w", err)
	}
	if !c.ExpiresAt.After(now) {
		return fmt.Errorf("code expired: %w", storage.ErrInvalidState)
	}
	return fmt.Errorf("code: %w", storage.ErrNotFound)
}

// cleanupRegistrations deletes registrations by ULID age; their email
// authentications (and those's codes) go by cascade.
var cleanupRegistrations = deleteByULIDAgeQuery("user_registrations", "user_registration_id", "")

// cleanupEmailAuthentications deletes email authentications by ULID age;
// their codes go by cascade and registrations naming them are nulled.
var cleanupEmailAuthentications = deleteByULIDAgeQuery("user_email_authentications", "user_email_authentication_id", "")

// CleanupRegistrations deletes registrations created before `before`.
func (r registrations) CleanupRegistrations(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return ulidAgeCleanup(ctx, r.ext, "clean up registrations", cleanupRegistrations, after, before, limit)
}

// CleanupEmailAuthentications deletes email authentications created before `before`.
func (r registrations) CleanupEmailAuthentications(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return ulidAgeCleanup(ctx, r.ext, "clean up email authentications", cleanupEmailAuthentications, after, before, limit)
}

// CountStaleIPs counts registrations holding an IP, created (ULID age, as
// their cleanup) before `before`.
func (r registrations) CountStaleIPs(ctx context.Context, before time.Time) (int, error) {
	return count(ctx, r.ext, "count stale registration IPs", `
		SELECT count(*) FROM user_registrations
		WHERE ip_address IS NOT NULL AND user_registration_id < $1`, key(ulidx.Horizon(before)))
}
