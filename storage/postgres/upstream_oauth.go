package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// upstreamOAuth is the storage.UpstreamOAuthRepository.
type upstreamOAuth struct{ ext sqlx.ExtContext }

const upstreamProviderColumns = `upstream_oauth_provider_id, issuer, human_name, client_id, scope, on_backchannel_logout, created_at`

func scanUpstreamProvider(row rowScanner) (*storage.UpstreamOAuthProvider, error) {
	var (
		p    storage.UpstreamOAuthProvider
		mode string
	)
	err := row.Scan(idCol{&p.ID}, textCol{&p.Issuer}, textCol{&p.HumanName}, &p.ClientID, &p.Scope, &mode, timeCol{&p.CreatedAt})
	if err != nil {
		return nil, translate(err)
	}
	p.OnBackchannelLogout = storage.BackchannelLogoutMode(mode)
	return &p, nil
}

const upstreamLinkColumns = `upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, created_at`

func scanUpstreamLink(row rowScanner) (*storage.UpstreamOAuthLink, error) {
	var l storage.UpstreamOAuthLink
	err := row.Scan(idCol{&l.ID}, idCol{&l.ProviderID}, idCol{&l.UserID}, &l.Subject, timeCol{&l.CreatedAt})
	if err != nil {
		return nil, translate(err)
	}
	return &l, nil
}

const upstreamSessionColumns = `upstream_oauth_authorization_session_id, upstream_oauth_provider_id, upstream_oauth_link_id,
	user_session_id, state, nonce, id_token_claims, created_at, completed_at, consumed_at`

func scanUpstreamSession(row rowScanner) (*storage.UpstreamOAuthSession, error) {
	var (
		s      storage.UpstreamOAuthSession
		claims *storage.IDTokenClaims
	)
	err := row.Scan(idCol{&s.ID}, idCol{&s.ProviderID}, idCol{&s.LinkID}, idCol{&s.UserSessionID},
		&s.State, textCol{&s.Nonce}, jsonCol{&claims}, timeCol{&s.CreatedAt},
		nullTimeCol{&s.CompletedAt}, nullTimeCol{&s.ConsumedAt})
	if err != nil {
		return nil, translate(err)
	}
	s.Claims = claims
	return &s, nil
}

// AddProvider registers a provider. An empty logout mode is do_nothing
// (the column's default); the client authenticates with
// client_secret_basic, which the domain type does not carry.
func (r upstreamOAuth) AddProvider(ctx context.Context, clock storage.Clock, provider storage.UpstreamOAuthProvider) (*storage.UpstreamOAuthProvider, error) {
	if provider.OnBackchannelLogout == "" {
		provider.OnBackchannelLogout = storage.LogoutDoNothing
	}
	if !provider.OnBackchannelLogout.Valid() {
		return nil, fmt.Errorf("add upstream provider: logout mode %q: %w", provider.OnBackchannelLogout, storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	provider.ID = ulidx.New(now)
	provider.CreatedAt = now
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, human_name, client_id, scope,
			on_backchannel_logout, created_at, token_endpoint_auth_method)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'client_secret_basic')`,
		key(provider.ID), textArg(provider.Issuer), textArg(provider.HumanName), provider.ClientID, provider.Scope,
		string(provider.OnBackchannelLogout), now)
	if err != nil {
		return nil, fmt.Errorf("add upstream provider %q: %w", provider.Issuer, translate(err))
	}
	return &provider, nil
}

// LookupProvider returns the provider, or ErrNotFound.
func (r upstreamOAuth) LookupProvider(ctx context.Context, id ulid.ULID) (*storage.UpstreamOAuthProvider, error) {
	p, err := scanUpstreamProvider(r.ext.QueryRowxContext(ctx,
		`SELECT `+upstreamProviderColumns+` FROM upstream_oauth_providers WHERE upstream_oauth_provider_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup upstream provider %s: %w", id, err)
	}
	return p, nil
}

// ListProviders returns every provider, oldest first.
func (r upstreamOAuth) ListProviders(ctx context.Context) ([]*storage.UpstreamOAuthProvider, error) {
	rows, err := r.ext.QueryxContext(ctx, `
		SELECT `+upstreamProviderColumns+` FROM upstream_oauth_providers
		ORDER BY created_at, upstream_oauth_provider_id`)
	if err != nil {
		return nil, fmt.Errorf("list upstream providers: %w", translate(err))
	}
	list, err := scanAll(rows, scanUpstreamProvider)
	if err != nil {
		return nil, fmt.Errorf("list upstream providers: %w", err)
	}
	return list, nil
}

// AddLink links subject at provider to user, or to no user yet.
func (r upstreamOAuth) AddLink(ctx context.Context, clock storage.Clock, provider *storage.UpstreamOAuthProvider, subject string, user *storage.User) (*storage.UpstreamOAuthLink, error) {
	if provider == nil {
		return nil, nilArg("add upstream link", "provider")
	}
	if subject == "" {
		return nil, fmt.Errorf("add upstream link: empty subject: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	l := &storage.UpstreamOAuthLink{ID: ulidx.New(now), ProviderID: provider.ID, Subject: subject, CreatedAt: now}
	if user != nil {
		l.UserID = user.ID
	}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		key(l.ID), key(l.ProviderID), ref(l.UserID), subject, now)
	if err != nil {
		return nil, fmt.Errorf("add upstream link at provider %s: %w", provider.ID, translate(err))
	}
	return l, nil
}

// AssociateLink ties a link to a user.
func (r upstreamOAuth) AssociateLink(ctx context.Context, link *storage.UpstreamOAuthLink, user *storage.User) (*storage.UpstreamOAuthLink, error) {
	if link == nil {
		return nil, nilArg("associate upstream link", "link")
	}
	if user == nil {
		return nil, fmt.Errorf("associate upstream link %s: no user: %w", link.ID, storage.ErrInvalidArgument)
	}
	l, err := scanUpstreamLink(r.ext.QueryRowxContext(ctx, `
		UPDATE upstream_oauth_links SET user_id = $1 WHERE upstream_oauth_link_id = $2
		RETURNING `+upstreamLinkColumns, key(user.ID), key(link.ID)))
	if err != nil {
		return nil, fmt.Errorf("associate upstream link %s: %w", link.ID, err)
	}
	return l, nil
}

// LookupLink returns the link, or ErrNotFound.
func (r upstreamOAuth) LookupLink(ctx context.Context, id ulid.ULID) (*storage.UpstreamOAuthLink, error) {
	l, err := scanUpstreamLink(r.ext.QueryRowxContext(ctx,
		`SELECT `+upstreamLinkColumns+` FROM upstream_oauth_links WHERE upstream_oauth_link_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup upstream link %s: %w", id, err)
	}
	return l, nil
}

// FindLink returns the link of subject at provider, or ErrNotFound.
func (r upstreamOAuth) FindLink(ctx context.Context, provider *storage.UpstreamOAuthProvider, subject string) (*storage.UpstreamOAuthLink, error) {
	if provider == nil {
		return nil, nilArg("find upstream link", "provider")
	}
	l, err := scanUpstreamLink(r.ext.QueryRowxContext(ctx, `
		SELECT `+upstreamLinkColumns+` FROM upstream_oauth_links
		WHERE upstream_oauth_provider_id = $1 AND subject = $2`, key(provider.ID), subject))
	if err != nil {
		return nil, fmt.Errorf("find upstream link at provider %s: %w", provider.ID, err)
	}
	return l, nil
}

// AddSession starts a login at provider.
func (r upstreamOAuth) AddSession(ctx context.Context, clock storage.Clock, provider *storage.UpstreamOAuthProvider, state, nonce string) (*storage.UpstreamOAuthSession, error) {
	if provider == nil {
		return nil, nilArg("add upstream login", "provider")
	}
	if state == "" {
		return nil, fmt.Errorf("add upstream login: empty state: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	s := &storage.UpstreamOAuthSession{ID: ulidx.New(now), ProviderID: provider.ID, State: state, Nonce: nonce, CreatedAt: now}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id, upstream_oauth_provider_id,
			state, nonce, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		key(s.ID), key(s.ProviderID), state, textArg(nonce), now)
	if err != nil {
		return nil, fmt.Errorf("add upstream login at provider %s: %w", provider.ID, translate(err))
	}
	return s, nil
}

// LookupSession returns the login, or ErrNotFound.
func (r upstreamOAuth) LookupSession(ctx context.Context, id ulid.ULID) (*storage.UpstreamOAuthSession, error) {
	s, err := scanUpstreamSession(r.ext.QueryRowxContext(ctx, `
		SELECT `+upstreamSessionColumns+` FROM upstream_oauth_authorization_sessions
		WHERE upstream_oauth_authorization_session_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup upstream login %s: %w", id, err)
	}
	return s, nil
}

// CompleteSession records the link and ID token claims of a login.
func (r upstreamOAuth) CompleteSession(ctx context.Context, clock storage.Clock, session *storage.UpstreamOAuthSession, link *storage.UpstreamOAuthLink, claims storage.IDTokenClaims) (*storage.UpstreamOAuthSession, error) {
	if session == nil {
		return nil, nilArg("complete upstream login", "session")
	}
	if link == nil {
		return nil, fmt.Errorf("complete upstream login %s: no link: %w", session.ID, storage.ErrInvalidArgument)
	}
	claimsJSON, err := json.Marshal(claims)
	if err != nil {
		return nil, fmt.Errorf("complete upstream login %s: %w", session.ID, err)
	}
	s, err := scanUpstreamSession(r.ext.QueryRowxContext(ctx, `
		UPDATE upstream_oauth_authorization_sessions
		SET completed_at = $1, upstream_oauth_link_id = $2, id_token_claims = $3
		WHERE upstream_oauth_authorization_session_id = $4 AND completed_at IS NULL
		RETURNING `+upstreamSessionColumns,
		storage.Now(clock), key(link.ID), string(claimsJSON), key(session.ID)))
	if err == nil {
		return s, nil
	}
	if noRows(err) {
		err = existsOr(ctx, r.ext, "upstream_oauth_authorization_sessions", "upstream_oauth_authorization_session_id", session.ID,
			fmt.Errorf("completed already: %w", storage.ErrInvalidState))
	}
	return nil, fmt.Errorf("complete upstream login %s: %w", session.ID, err)
}

// ConsumeSession marks a completed login used.
func (r upstreamOAuth) ConsumeSession(ctx context.Context, clock storage.Clock, session *storage.UpstreamOAuthSession) (*storage.UpstreamOAuthSession, error) {
	if session == nil {
		return nil, nilArg("consume upstream login", "session")
	}
	s, err := scanUpstreamSession(r.ext.QueryRowxContext(ctx, `
		UPDATE upstream_oauth_authorization_sessions SET consumed_at = $1
		WHERE upstream_oauth_authorization_session_id = $2 AND completed_at IS NOT NULL AND consumed_at IS NULL
		RETURNING `+upstreamSessionColumns, storage.Now(clock), key(session.ID)))
	if err == nil {
		return s, nil
	}
	if noRows(err) {
		var cur *storage.UpstreamOAuthSession
		if cur, err = r.LookupSession(ctx, session.ID); err == nil {
			err = finalOrInvalid(cur.ConsumedAt != nil, "not completed")
		}
	}
	return nil, fmt.Errorf("consume upstream login %s: %w", session.ID, err)
}

// BackchannelLogout finds the provider's logins matching sub and sid, their
// browser sessions, and finishes what the provider's mode (as stored) says,
// in one transaction.
func (r upstreamOAuth) BackchannelLogout(ctx context.Context, clock storage.Clock, provider *storage.UpstreamOAuthProvider, sub, sid string) (*storage.LogoutReport, error) {
	if provider == nil {
		return nil, nilArg("back-channel logout", "provider")
	}
	if sub == "" && sid == "" {
		return nil, fmt.Errorf("back-channel logout: neither sub nor sid: %w", storage.ErrInvalidArgument)
	}
	var report *storage.LogoutReport
	err := atomically(ctx, r.ext, func(ext sqlx.ExtContext) error {
		var err error
		report, err = backchannelLogout(ctx, ext, storage.Now(clock), provider.ID, sub, sid)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("back-channel logout at provider %s: %w", provider.ID, err)
	}
	return report, nil
}

func backchannelLogout(ctx context.Context, ext sqlx.ExtContext, now time.Time, providerID ulid.ULID, sub, sid string) (*storage.LogoutReport, error) {
	p, err := upstreamOAuth{ext}.LookupProvider(ctx, providerID)
	if err != nil {
		return nil, err
	}
	mode := p.OnBackchannelLogout
	if !mode.Valid() {
		return nil, fmt.Errorf("logout mode %q: %w", mode, storage.ErrInvalidArgument)
	}
	// Matching on the claims through the (provider, sub, sid) and
	// (provider, sid, sub) expression indexes.
	query := `SELECT upstream_oauth_authorization_session_id, user_session_id FROM upstream_oauth_authorization_sessions
		WHERE upstream_oauth_provider_id = $1`
	args := []any{key(providerID)}
	if sub != "" {
		args = append(args, sub)
		query += fmt.Sprintf(` AND (id_token_claims ->> 'sub') = $%d`, len(args))
	}
	if sid != "" {
		args = append(args, sid)
		query += fmt.Sprintf(` AND (id_token_claims ->> 'sid') = $%d`, len(args))
	}
	rows, err := ext.QueryxContext(ctx, query+` ORDER BY upstream_oauth_authorization_session_id FOR UPDATE`, args...)
	if err != nil {
		return nil, translate(err)
	}
	report := &storage.LogoutReport{}
	var browsers []string
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			var id, browser ulid.ULID
			if err := rows.Scan(idCol{&id}, idCol{&browser}); err != nil {
				return translate(err)
			}
			report.UpstreamSessions = append(report.UpstreamSessions, id)
			if browser != (ulid.ULID{}) && !slices.Contains(report.UserSessions, browser) {
				report.UserSessions = append(report.UserSessions, browser)
				browsers = append(browsers, key(browser))
			}
		}
		return translate(rows.Err())
	}()
	if err != nil {
		return nil, err
	}
	slices.SortFunc(report.UserSessions, ulid.ULID.Compare)
	if len(browsers) == 0 || mode == storage.LogoutDoNothing {
		return report, nil
	}
	if report.FinishedUserSessions, err = finishReturning(ctx, ext, now, "user_sessions", "user_session_id", "user_session_id", browsers); err != nil {
		return nil, err
	}
	if mode != storage.LogoutAll {
		return report, nil
	}
	if report.FinishedCompatSessions, err = finishReturning(ctx, ext, now, "compat_sessions", "compat_session_id", "user_session_id", browsers); err != nil {
		return nil, err
	}
	if report.FinishedOAuth2Sessions, err = finishReturning(ctx, ext, now, "oauth2_sessions", "oauth2_session_id", "user_session_id", browsers); err != nil {
		return nil, err
	}
	return report, nil
}

// finishReturning finishes the unfinished rows of table whose column is one
// of ids, and returns their IDs, sorted.
func finishReturning(ctx context.Context, ext sqlx.ExtContext, now time.Time, table, idColumn, column string, ids []string) ([]ulid.ULID, error) {
	rows, err := ext.QueryxContext(ctx, `
		UPDATE `+table+` SET finished_at = $1
		WHERE `+column+` = ANY($2::uuid[]) AND finished_at IS NULL
		RETURNING `+idColumn, now, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("finish %s: %w", table, translate(err))
	}
	defer rows.Close()
	var finished []ulid.ULID
	for rows.Next() {
		var id ulid.ULID
		if err := rows.Scan(idCol{&id}); err != nil {
			return nil, fmt.Errorf("finish %s: %w", table, translate(err))
		}
		finished = append(finished, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("finish %s: %w", table, translate(err))
	}
	slices.SortFunc(finished, ulid.ULID.Compare)
	return finished, nil
}

// cleanupOrphanedLinks deletes, by ULID age, links never associated with a
// user, together with their logins (NO ACTION), whose references from
// authentications and registrations are nulled by their foreign keys.
const cleanupOrphanedLinks = `
WITH candidates AS MATERIALIZED (
	SELECT ctid AS tid, upstream_oauth_link_id AS id, NULL::timestamptz AS t FROM upstream_oauth_links
	WHERE user_id IS NULL AND upstream_oauth_link_id < $1 AND upstream_oauth_link_id > $2
	ORDER BY upstream_oauth_link_id
	LIMIT $3
	FOR UPDATE SKIP LOCKED
), deleted_sessions AS (
	DELETE FROM upstream_oauth_authorization_sessions WHERE upstream_oauth_link_id = ANY (ARRAY(SELECT id FROM candidates))
), deleted AS (
	DELETE FROM upstream_oauth_links WHERE ctid = ANY (ARRAY(SELECT tid FROM candidates))
	RETURNING 1
)` + cleanupResult

// cleanupOrphanedSessions deletes, by ULID age, logins whose browser session
// is unset; authentications and registrations naming them are nulled by
// their foreign keys.
const cleanupOrphanedSessions = `
WITH candidates AS MATERIALIZED (
	SELECT ctid AS tid, upstream_oauth_authorization_session_id AS id, NULL::timestamptz AS t FROM upstream_oauth_authorization_sessions
	WHERE user_session_id IS NULL
	  AND upstream_oauth_authorization_session_id < $1 AND upstream_oauth_authorization_session_id > $2
	ORDER BY upstream_oauth_authorization_session_id
	LIMIT $3
	FOR UPDATE SKIP LOCKED
), deleted AS (
	DELETE FROM upstream_oauth_authorization_sessions
	WHERE ctid = ANY (ARRAY(SELECT tid FROM candidates))
	RETURNING 1
)` + cleanupResult

// CleanupOrphanedLinks deletes links created before `before` never
// associated with a user, with their logins.
func (r upstreamOAuth) CleanupOrphanedLinks(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return ulidCleanup(ctx, r.ext, "clean up orphaned upstream links", cleanupOrphanedLinks, after, before, limit)
}

// CleanupOrphanedSessions deletes logins created before `before` whose
// browser session is unset.
func (r upstreamOAuth) CleanupOrphanedSessions(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return ulidCleanup(ctx, r.ext, "clean up orphaned upstream logins", cleanupOrphanedSessions, after, before, limit)
}
