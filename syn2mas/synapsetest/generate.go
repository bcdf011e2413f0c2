package synapsetest

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/lib/pq"
)

// Population describes a synthetic Synapse homeserver. Every user i (1 to
// Users) is "@user<i>:<ServerName>", created at [CreatedTS] plus i seconds,
// with a bcrypt-shaped password hash, an e-mail address and two devices,
// A and B. Device A has one access token; device B has a refresh chain of
// two pairs, the first superseded (its successor's access token used) for
// even i. The users and rows below vary with i:
//
//   - every 50th user is a guest, every 40th (not a guest) deactivated,
//     every 500th locked, every 1000th a Synapse admin;
//   - every 100th user (i = 33 mod 100) is an appservice user (no password);
//   - every 20th has a phone number, every 10th a link to "oidc-google";
//   - every 10th has a third, hidden device (a cross-signing key store);
//   - every 25th has a fourth access token, without a device;
//   - every 7th device's IP is "-", Synapse's "no IP".
//
// Every token has a last validation time, so two migrations of one
// population write the same rows whatever their clocks say.
//
// So Users = 1 000 000 gives 1 M users and passwords (less the appservice
// users), 1 M e-mails, 2.1 M devices, 3.04 M access tokens and 2 M refresh
// tokens.
type Population struct {
	// ServerName is the server part of every user ID.
	ServerName string
	// Users is how many users there are.
	Users int
	// Dangling adds one row whose user is not in users (a device of
	// "@ghost:<ServerName>"): Synapse is not always atomic, and a migration
	// must refuse it.
	Dangling bool
}

// Expected counts what a migration of p writes and skips.
type Expected struct {
	Users, Passwords, Emails, OtherThreepids, Links int
	// Sessions are compat sessions: devices A and B of every user who gets
	// sessions (not deactivated, guest or appservice), and one per
	// deviceless token of those users.
	Sessions, AccessTokens, RefreshTokens int
}

// userKind says which of the population's rules apply to user i.
func userKind(i int) (guest, deactivated, appservice bool) {
	guest = i%50 == 0
	deactivated = !guest && i%40 == 0
	appservice = i%100 == 33
	return
}

// Expect returns what migrating p writes.
func (p Population) Expect() Expected {
	var e Expected
	for i := 1; i <= p.Users; i++ {
		guest, deactivated, appservice := userKind(i)
		if appservice {
			continue
		}
		e.Users++
		e.Passwords++
		e.Emails++
		if i%20 == 0 {
			e.OtherThreepids++
		}
		if i%10 == 0 {
			e.Links++
		}
		if guest || deactivated {
			continue
		}
		e.Sessions += 2
		e.AccessTokens += 2 // device A's, device B's current pair
		e.RefreshTokens++
		if i%2 == 1 { // the first pair is not superseded
			e.AccessTokens++
			e.RefreshTokens++
		}
		if i%25 == 0 {
			e.Sessions++
			e.AccessTokens++
		}
	}
	return e
}

// Generate fills the Synapse tables of db (made by [Schema]) with p, in a
// few statements run by the server, then analyses them so that the
// planner's estimates are right.
func Generate(ctx context.Context, db *sql.DB, p Population) error {
	if p.ServerName == "" || p.Users < 0 {
		return fmt.Errorf("synapsetest: generate: need a server name and a user count ≥ 0, got %q and %d", p.ServerName, p.Users)
	}
	const series = `FROM generate_series(1, {users}) AS i`
	statements := []string{
		`INSERT INTO users (name, password_hash, creation_ts, admin, is_guest, deactivated, locked, appservice_id)
		 SELECT '@user' || i || ':' || {server}, CASE WHEN ` + appservice + ` THEN NULL ELSE '$2b$12$' || md5(i::text) END,
		        {base} + i, (i % 1000 = 0)::int, (` + guest + `)::int, (` + deactivated + `)::int, i % 500 = 0,
		        CASE WHEN ` + appservice + ` THEN 'bridge' END ` + series,
		`INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at)
		 SELECT '@user' || i || ':' || {server}, 'email', 'user' || i || '@example.org', {base} * 1000 + i, {base} * 1000 + i ` + series,
		`INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at)
		 SELECT '@user' || i || ':' || {server}, 'msisdn', (447700000000 + i)::text, {base} * 1000 + i, {base} * 1000 + i ` + series + ` WHERE i % 20 = 0`,
		`INSERT INTO user_external_ids (auth_provider, external_id, user_id)
		 SELECT 'oidc-google', 'google-' || i, '@user' || i || ':' || {server} ` + series + ` WHERE i % 10 = 0`,
		`INSERT INTO devices (user_id, device_id, display_name, last_seen, ip, user_agent, hidden)
		 SELECT '@user' || i || ':' || {server}, 'DEV' || i || d, 'Device ' || d, {base} * 1000 + i * 10,
		        CASE WHEN (2 * i + (d = 'B')::int) % 7 = 0 THEN '-' ELSE '10.' || (i / 65536 % 256) || '.' || (i / 256 % 256) || '.' || (i % 256) END,
		        'Element/1.' || (i % 10), false
		 ` + series + `, (VALUES ('A'), ('B')) AS devs(d)`,
		`INSERT INTO devices (user_id, device_id, hidden) SELECT '@user' || i || ':' || {server}, 'KEYS' || i, true ` + series + ` WHERE i % 10 = 0`,
		// Device A's token: id 4i.
		`INSERT INTO access_tokens (id, user_id, device_id, token, last_validated, valid_until_ms)
		 SELECT 4 * i, '@user' || i || ':' || {server}, 'DEV' || i || 'A', 'syt_a_' || i, {base} * 1000 + i, NULL ` + series,
		// Device B's chain: refresh tokens 2i-1 → 2i, access tokens 4i+1 (old) and 4i+2 (current).
		`INSERT INTO refresh_tokens (id, user_id, device_id, token, next_token_id)
		 SELECT 2 * i - 1, '@user' || i || ':' || {server}, 'DEV' || i || 'B', 'syr_old_' || i, 2 * i ` + series,
		`INSERT INTO refresh_tokens (id, user_id, device_id, token)
		 SELECT 2 * i, '@user' || i || ':' || {server}, 'DEV' || i || 'B', 'syr_new_' || i ` + series,
		`INSERT INTO access_tokens (id, user_id, device_id, token, last_validated, refresh_token_id, used, valid_until_ms)
		 SELECT 4 * i + 1, '@user' || i || ':' || {server}, 'DEV' || i || 'B', 'syt_b_old_' || i, {base} * 1000 + i + 1, 2 * i - 1, true, NULL ` + series,
		`INSERT INTO access_tokens (id, user_id, device_id, token, last_validated, refresh_token_id, used, valid_until_ms)
		 SELECT 4 * i + 2, '@user' || i || ':' || {server}, 'DEV' || i || 'B', 'syt_b_new_' || i, {base} * 1000 + i + 2, 2 * i, i % 2 = 0,
		        {base} * 1000 + 86400000 ` + series,
		// Every 25th user's deviceless token: id 4i+3.
		`INSERT INTO access_tokens (id, user_id, device_id, token, last_validated)
		 SELECT 4 * i + 3, '@user' || i || ':' || {server}, NULL, 'syt_deviceless_' || i, {base} * 1000 + i + 3 ` + series + ` WHERE i % 25 = 0`,
	}
	if p.Dangling {
		statements = append(statements, `INSERT INTO devices (user_id, device_id) SELECT '@ghost:' || {server}, 'GHOST'`)
	}
	fill := strings.NewReplacer("{users}", strconv.Itoa(p.Users), "{server}", pq.QuoteLiteral(p.ServerName),
		"{base}", strconv.FormatInt(CreatedTS/1000, 10)+"::bigint")
	for _, s := range statements {
		if _, err := db.ExecContext(ctx, fill.Replace(s)); err != nil {
			return fmt.Errorf("synapsetest: generate: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, `ANALYZE users, user_threepids, user_external_ids, devices, access_tokens, refresh_tokens`); err != nil {
		return fmt.Errorf("synapsetest: generate: analyze: %w", err)
	}
	return nil
}

// The population's rules as SQL conditions on i (see userKind).
const (
	guest       = `i % 50 = 0`
	deactivated = `i % 50 <> 0 AND i % 40 = 0`
	appservice  = `i % 100 = 33`
)
