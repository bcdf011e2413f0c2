package syn2mas

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"
)

// The database checks take a sqlx.QueryerContext so that one code path
// serves a *sqlx.DB and the read-only *sqlx.Tx that [Check] runs them in.

// synapseColumns are the tables and columns the checks and the migration
// read, in the order missing ones are reported.
var synapseColumns = []struct {
	table   string
	columns []string
}{
	{"users", []string{"name", "password_hash", "creation_ts", "admin", "is_guest", "appservice_id", "deactivated", "locked"}},
	{"user_threepids", []string{"user_id", "medium", "address", "added_at"}},
	{"user_external_ids", []string{"auth_provider", "external_id", "user_id"}},
	{"devices", []string{"user_id", "device_id", "display_name", "last_seen", "ip", "user_agent", "hidden"}},
	{"access_tokens", []string{"id", "user_id", "device_id", "token", "valid_until_ms", "puppets_user_id", "last_validated", "refresh_token_id", "used"}},
	{"refresh_tokens", []string{"id", "user_id", "device_id", "token", "next_token_id"}},
}

// VerifySynapseSchema returns an error wrapping [ErrNotSynapseDatabase],
// naming what is missing, unless the tables and columns the checks read are
// there (looked up through the connection's search_path, as Synapse does).
func VerifySynapseSchema(ctx context.Context, q sqlx.QueryerContext) error {
	var missingTables, missingColumns []string
	for _, t := range synapseColumns {
		var have []string
		err := sqlx.SelectContext(ctx, q, &have, `
			SELECT attname::text FROM pg_attribute
			WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`, t.table)
		if err != nil {
			return fmt.Errorf("look up table %s: %w", t.table, err)
		}
		if len(have) == 0 {
			missingTables = append(missingTables, t.table)
			continue
		}
		for _, c := range t.columns {
			if !contains(have, c) {
				missingColumns = append(missingColumns, t.table+"."+c)
			}
		}
	}
	switch {
	case len(missingTables) == 1:
		return fmt.Errorf("%w: table %s missing", ErrNotSynapseDatabase, missingTables[0])
	case len(missingTables) > 1:
		return fmt.Errorf("%w: tables %s missing", ErrNotSynapseDatabase, strings.Join(missingTables, ", "))
	case len(missingColumns) == 1:
		return fmt.Errorf("%w: column %s missing", ErrNotSynapseDatabase, missingColumns[0])
	case len(missingColumns) > 1:
		return fmt.Errorf("%w: columns %s missing", ErrNotSynapseDatabase, strings.Join(missingColumns, ", "))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// CheckDatabase verifies that q reaches a Synapse database, then runs every
// database check: [CheckGuestUsers], [CheckThreepids], [CheckAuthProviders]
// and [CheckServerNames]. ignoreMissingAuthProviders is passed to
// CheckAuthProviders.
func CheckDatabase(ctx context.Context, q sqlx.QueryerContext, syn *SynapseConfig, mas *MASConfig, ignoreMissingAuthProviders bool) (Findings, error) {
	if err := VerifySynapseSchema(ctx, q); err != nil {
		return nil, err
	}
	checks := []func() (Findings, error){
		func() (Findings, error) { return CheckGuestUsers(ctx, q) },
		func() (Findings, error) { return CheckThreepids(ctx, q) },
		func() (Findings, error) { return CheckAuthProviders(ctx, q, syn, mas, ignoreMissingAuthProviders) },
		func() (Findings, error) { return CheckServerNames(ctx, q, syn.ServerName) },
	}
	var all Findings
	for _, check := range checks {
		fs, err := check()
		if err != nil {
			return nil, err
		}
		all = append(all, fs...)
	}
	return all, nil
}

// CheckGuestUsers warns about guest users (`users.is_guest <> 0`): they are
// migrated as MAS users marked is_guest, without their devices and tokens,
// so none of them stays logged in.
func CheckGuestUsers(ctx context.Context, q sqlx.QueryerContext) (Findings, error) {
	var n int64
	if err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM users WHERE is_guest <> 0`); err != nil {
		return nil, fmt.Errorf("count guest users: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	f := warningf(CodeGuestUsers, "%s: migrated as guest accounts without their sessions; MAS has no guest access, so they stay logged out", plural(n, "guest user", "guest users"))
	f.Count = n
	return Findings{f}, nil
}

// CheckThreepids warns about third-party ids other than e-mail addresses
// (phone numbers, say): they are migrated to
// user_unsupported_third_party_ids, which MAS keeps but does not use.
// Examples lists the media found.
func CheckThreepids(ctx context.Context, q sqlx.QueryerContext) (Findings, error) {
	var rows []struct {
		Medium string `db:"medium"`
		Count  int64  `db:"count"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT medium, count(*) AS count FROM user_threepids
		WHERE medium <> 'email' GROUP BY medium ORDER BY medium`)
	if err != nil {
		return nil, fmt.Errorf("count non-email third-party ids: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var n int64
	var media, detail []string
	for _, r := range rows {
		n += r.Count
		media = append(media, r.Medium)
		detail = append(detail, fmt.Sprintf("%s: %d", r.Medium, r.Count))
	}
	f := warningf(CodeNonEmailThreepids, "%s (%s): they are kept in user_unsupported_third_party_ids, but MAS uses only e-mail addresses",
		plural(n, "third-party id is not an e-mail address", "third-party ids are not e-mail addresses"), strings.Join(detail, ", "))
	f.Count, f.Examples = n, media
	return Findings{f}, nil
}

// oauthDelegated is the auth_provider an earlier migration attempt leaves.
const oauthDelegated = "oauth-delegated"

// CheckAuthProviders checks each distinct `user_external_ids.auth_provider`,
// with the number of users linked to it:
//   - "oauth-delegated" is left over from an earlier attempt: an error whose
//     message gives the DELETE statement that removes it;
//   - a provider Synapse's configuration does not define: an error, or with
//     ignoreMissingAuthProviders a warning with the same code, message and
//     count (the migration then skips those links);
//   - a Synapse provider no MAS upstream provider claims through
//     synapse_idp_id: an error naming the provider and its issuer.
func CheckAuthProviders(ctx context.Context, q sqlx.QueryerContext, syn *SynapseConfig, mas *MASConfig, ignoreMissingAuthProviders bool) (Findings, error) {
	var rows []struct {
		Provider string `db:"auth_provider"`
		Users    int64  `db:"users"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT auth_provider, count(DISTINCT user_id) AS users FROM user_external_ids
		GROUP BY auth_provider ORDER BY auth_provider`)
	if err != nil {
		return nil, fmt.Errorf("count users per auth provider: %w", err)
	}
	synProviders := syn.AuthProviders()
	inMAS := map[string]bool{}
	for _, p := range mas.UpstreamProviders {
		if p.SynapseIDPID != "" {
			inMAS[p.SynapseIDPID] = true
		}
	}
	var fs Findings
	for _, r := range rows {
		var f Finding
		sp, configured := synProviders[r.Provider]
		switch {
		case r.Provider == oauthDelegated:
			f = errorf(CodeOAuthDelegatedLinks,
				"auth provider %q has %s, left over from an earlier migration attempt; remove these links before migrating: DELETE FROM user_external_ids WHERE auth_provider = '%s';",
				r.Provider, plural(r.Users, "linked user", "linked users"), oauthDelegated)
		case !configured:
			f = errorf(CodeUnknownAuthProvider,
				"auth provider %q has %s, but the Synapse configuration does not define it; if these links are stale, ignoring missing auth providers makes the migration skip them",
				r.Provider, plural(r.Users, "linked user", "linked users"))
			if ignoreMissingAuthProviders {
				f.Severity = SeverityWarning
			}
		case !inMAS[r.Provider]:
			issuer := sp.Issuer
			if issuer == "" {
				issuer = "<unspecified>"
			}
			f = errorf(CodeProviderMissingInMAS,
				"Synapse auth provider %q (issuer %s) has %s, but no MAS upstream provider has synapse_idp_id %q; add one so that these users keep their login",
				r.Provider, issuer, plural(r.Users, "linked user", "linked users"), r.Provider)
			f.Issuer = sp.Issuer
		default:
			continue
		}
		f.Provider, f.Count = r.Provider, r.Users
		fs = append(fs, f)
	}
	return fs, nil
}

// maxExamples bounds the examples a finding lists.
const maxExamples = 5

// CheckServerNames reports users whose Matrix ID (@localpart:server) is not
// on serverName, with their count and a few examples. MAS's own check lets
// them through and its migration then fails on them.
func CheckServerNames(ctx context.Context, q sqlx.QueryerContext, serverName string) (Findings, error) {
	// A localpart cannot contain ':', so the server part starts after the
	// first one; an id without ':' is flagged too. Appservice users of this
	// server whose localpart does hold a ':' are not: the migration ignores
	// them with a warning, as MAS's does.
	const foreign = `FROM users WHERE substr(name, strpos(name, ':') + 1) <> $1
		AND NOT (appservice_id IS NOT NULL AND right(name, length($1) + 1) = ':' || $1)`
	var n int64
	if err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) `+foreign, serverName); err != nil {
		return nil, fmt.Errorf("count users of other servers: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	var examples []string
	if err := sqlx.SelectContext(ctx, q, &examples, `SELECT name `+foreign+` ORDER BY name LIMIT $2`, serverName, maxExamples); err != nil {
		return nil, fmt.Errorf("list users of other servers: %w", err)
	}
	sort.Strings(examples)
	f := errorf(CodeForeignServerUsers,
		"%s a Matrix ID that is not on server_name %q (for example %s); the migration would fail on them, so remove or rename them first",
		plural(n, "user has", "users have"), serverName, strings.Join(examples, ", "))
	f.Count, f.Examples = n, examples
	return Findings{f}, nil
}

// plural formats a count with the singular or plural words that follow it.
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
