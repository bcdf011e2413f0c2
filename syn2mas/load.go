package syn2mas

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
)

// The load: Synapse's rows read in one snapshot, mapped to MAS rows and
// handed to the writers. Reading and mapping run on one goroutine; the only
// state kept across rows is the user map (localpart → MAS user ID and
// flags). Devices and their tokens are read as one stream sorted by (user,
// device), so a device's compat session is decided from its own rows and
// never looked up again.

// ErrMissingUser is returned (wrapped in a [*RowError]) when a row of
// user_threepids, user_external_ids, devices, access_tokens or
// refresh_tokens belongs to a user that is not in Synapse's users table.
var ErrMissingUser = errors.New("the user is not in the users table")

// ErrForeignUser is returned (wrapped in a [*RowError]) when a row's user ID
// is not a local user of the configured server_name.
var ErrForeignUser = errors.New("the user ID is not on this server")

// ErrMissingProviderMapping is returned (wrapped in a [*RowError]) when a
// user_external_ids row names an auth provider no MAS upstream provider's
// synapse_idp_id claims, and missing auth providers are not ignored.
var ErrMissingProviderMapping = errors.New("no MAS upstream provider has this auth provider as synapse_idp_id")

// errLocalpartTooLong is a localpart longer than any Matrix ID may be.
var errLocalpartTooLong = errors.New("the localpart is longer than a Matrix ID may be")

// ErrBadTimestamp is returned (wrapped in a [*RowError]) for a Synapse
// timestamp a MAS ID cannot encode: before 1970, or past the year 10889.
var ErrBadTimestamp = errors.New("the timestamp is outside what a ULID can hold (1970 to the year 10889)")

// idTime reports whether t can be the time part of a ULID.
func idTime(t time.Time) bool {
	ms := t.UnixMilli()
	return ms >= 0 && uint64(ms) <= ulid.MaxTime()
}

// badTime is the error for a row whose column holds a time no ID can hold.
func badTime(table, user, column string, v int64) error {
	return &RowError{Table: table, User: user, Detail: fmt.Sprintf("%s %d", column, v), Err: ErrBadTimestamp}
}

// RowError is a Synapse row the migration cannot carry over. Nothing is
// migrated when one is found.
type RowError struct {
	// Table is the Synapse table the row is in.
	Table string
	// User is the row's user ID as Synapse stores it.
	User string
	// Detail adds what else identifies the row (a device, a provider), or "".
	Detail string
	// Err is what is wrong: [ErrMissingUser], [ErrForeignUser] or
	// [ErrMissingProviderMapping].
	Err error
}

// Error names the table, the user and the problem.
func (e *RowError) Error() string {
	msg := fmt.Sprintf("synapse %s row of %s", e.Table, e.User)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *RowError) Unwrap() error { return e.Err }

// userFlags are what the later tables need to know of a user.
type userFlags uint8

const (
	flagAdmin userFlags = 1 << iota
	flagDeactivated
	flagGuest
	flagAppservice
)

// userEntry is a migrated (or deliberately skipped) user.
type userEntry struct {
	id    ulid.ULID // zero for appservice users, who are not migrated
	flags userFlags
}

// sessionless reports whether the user's devices and tokens are left out:
// deactivated users, guests and appservice users get no compat sessions.
func (u userEntry) sessionless() bool {
	return u.flags&(flagDeactivated|flagGuest|flagAppservice) != 0
}

// loader maps Synapse rows to MAS rows for one migration.
type loader struct {
	tx                     *sql.Tx
	out                    *copyWriters
	serverName             string
	now                    time.Time
	providers              map[string]ulid.ULID // synapse_idp_id → MAS provider
	ignoreMissingProviders bool

	users *userMap
	// ignored are the appservice users whose localpart holds a ':', by
	// full ID: not migrated, and neither are their rows.
	ignored  map[string]bool
	entropy  *rand.ChaCha8
	progress *progressTracker
	warnings *warningLog
}

func newLoader(tx *sql.Tx, out *copyWriters, serverName string, now time.Time, providers map[string]ulid.ULID, ignore bool, p *progressTracker, w *warningLog) *loader {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return &loader{tx: tx, out: out, serverName: serverName, now: now, providers: providers,
		ignoreMissingProviders: ignore, users: newUserMap(p.counts[KindUsers].Estimate), ignored: map[string]bool{}, entropy: rand.NewChaCha8(seed),
		progress: p, warnings: w}
}

// newID returns a random ULID whose time part is t, as MAS's tool makes them.
// Every time it is given was checked with idTime where it was read.
func (l *loader) newID(t time.Time) ulid.ULID {
	id, err := ulid.New(ulid.Timestamp(t), l.entropy)
	if err != nil {
		panic(fmt.Sprintf("syn2mas: bug: ULID at an unchecked time %v: %v", t, err))
	}
	return id
}

// localpart returns the localpart of a local user ID, or a *RowError.
func (l *loader) localpart(table, userID string) (string, error) {
	rest, ok := strings.CutPrefix(userID, "@")
	local, server, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || server != l.serverName {
		return "", &RowError{Table: table, User: userID, Err: fmt.Errorf("%w (server_name is %q)", ErrForeignUser, l.serverName)}
	}
	return local, nil
}

// user looks up the user a dependent row belongs to.
func (l *loader) user(table, userID string) (userEntry, error) {
	if l.ignored[userID] {
		return userEntry{flags: flagAppservice}, nil
	}
	local, err := l.localpart(table, userID)
	if err != nil {
		return userEntry{}, err
	}
	u, ok := l.users.get(local)
	if !ok {
		return userEntry{}, &RowError{Table: table, User: userID, Err: ErrMissingUser}
	}
	return u, nil
}

// query streams the rows of query, calling scan for each; scan's error
// stops the stream. Every progressEvery rows the progress is reported.
func (l *loader) query(ctx context.Context, what, query string, scan func(*sql.Rows) error) error {
	rows, err := l.tx.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("read synapse %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
		l.progress.tick()
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read synapse %s: %w", what, err)
	}
	return rows.Close()
}

func ms(v sql.NullInt64) any {
	if !v.Valid {
		return nil
	}
	return time.UnixMilli(v.Int64).UTC()
}

func str(v sql.NullString) any {
	if !v.Valid {
		return nil
	}
	return v.String
}

// loadUsers migrates users and their passwords. Appservice users are
// remembered (their other rows are skipped, not errors) but not written.
func (l *loader) loadUsers(ctx context.Context) error {
	l.progress.start(KindUsers)
	return l.query(ctx, "users", `SELECT name, password_hash, admin, deactivated, locked, creation_ts, is_guest, appservice_id FROM users`,
		func(rows *sql.Rows) error {
			var (
				name                string
				hash, appservice    sql.NullString
				admin, deact, guest int16
				locked              bool
				creation            sql.NullInt64
			)
			if err := rows.Scan(&name, &hash, &admin, &deact, &locked, &creation, &guest, &appservice); err != nil {
				return fmt.Errorf("read synapse users: %w", err)
			}
			if appservice.Valid {
				// MAS's tool ignores appservice users whose localpart holds a ':'.
				if local, ok := strings.CutSuffix(strings.TrimPrefix(name, "@"), ":"+l.serverName); ok && strings.Contains(local, ":") {
					l.warnings.add(CodeAppserviceLocalpart, name)
					l.ignored[name] = true
					l.progress.skip()
					return nil
				}
			}
			local, err := l.localpart("users", name)
			if err != nil {
				return err
			}
			var flags userFlags
			if admin != 0 {
				flags |= flagAdmin
			}
			if deact != 0 {
				flags |= flagDeactivated
			}
			if guest != 0 {
				flags |= flagGuest
			}
			if appservice.Valid {
				if !l.users.add(local, userEntry{flags: flags | flagAppservice}) {
					return &RowError{Table: "users", User: name, Err: errLocalpartTooLong}
				}
				l.progress.skip()
				return nil
			}
			if !creation.Valid {
				return &RowError{Table: "users", User: name, Err: errors.New("creation_ts is NULL")}
			}
			created := time.Unix(creation.Int64, 0).UTC()
			if !idTime(created) {
				return badTime("users", name, "creation_ts", creation.Int64)
			}
			id := l.newID(created)
			if !l.users.add(local, userEntry{id: id, flags: flags}) {
				return &RowError{Table: "users", User: name, Err: errLocalpartTooLong}
			}
			var lockedAt, deactivatedAt any
			if locked {
				lockedAt = created
			}
			if deact != 0 {
				deactivatedAt = created
			}
			uid := ulidx.UUID(id)
			if err := l.out.add("users", uid, local, created, lockedAt, deactivatedAt, admin != 0, guest != 0); err != nil {
				return err
			}
			if hash.Valid {
				if err := l.out.add("user_passwords", ulidx.UUID(l.newID(created)), uid, hash.String, 1, created); err != nil {
					return err
				}
			}
			l.progress.migrate()
			return nil
		})
}

// loadThreepids migrates e-mail addresses to user_emails and every other
// medium to user_unsupported_third_party_ids.
func (l *loader) loadThreepids(ctx context.Context) error {
	l.progress.start(KindThreepids)
	return l.query(ctx, "user_threepids", `SELECT user_id, medium, address, added_at FROM user_threepids`,
		func(rows *sql.Rows) error {
			var userID, medium, address string
			var addedAt int64
			if err := rows.Scan(&userID, &medium, &address, &addedAt); err != nil {
				return fmt.Errorf("read synapse user_threepids: %w", err)
			}
			u, err := l.user("user_threepids", userID)
			if err != nil {
				return err
			}
			if u.id == (ulid.ULID{}) {
				l.progress.skip()
				return nil
			}
			created := time.UnixMilli(addedAt).UTC()
			if !idTime(created) {
				return badTime("user_threepids", userID, "added_at", addedAt)
			}
			uid := ulidx.UUID(u.id)
			if medium == "email" {
				err = l.out.add("user_emails", ulidx.UUID(l.newID(created)), uid, address, created)
			} else {
				err = l.out.add("user_unsupported_third_party_ids", uid, medium, address, created)
			}
			if err != nil {
				return err
			}
			l.progress.migrate()
			return nil
		})
}

// loadExternalIDs migrates user_external_ids to upstream_oauth_links of the
// MAS provider whose synapse_idp_id is the row's auth_provider.
func (l *loader) loadExternalIDs(ctx context.Context) error {
	l.progress.start(KindExternalIDs)
	return l.query(ctx, "user_external_ids", `SELECT user_id, auth_provider, external_id FROM user_external_ids`,
		func(rows *sql.Rows) error {
			var userID, provider, subject string
			if err := rows.Scan(&userID, &provider, &subject); err != nil {
				return fmt.Errorf("read synapse user_external_ids: %w", err)
			}
			u, err := l.user("user_external_ids", userID)
			if err != nil {
				return err
			}
			if u.id == (ulid.ULID{}) {
				l.progress.skip()
				return nil
			}
			providerID, ok := l.providers[provider]
			if !ok {
				if l.ignoreMissingProviders {
					l.progress.skip()
					return nil
				}
				return &RowError{Table: "user_external_ids", User: userID, Detail: "auth_provider " + provider, Err: ErrMissingProviderMapping}
			}
			// The link is as old as the user: the time part of the user's ID.
			created := ulid.Time(u.id.Time()).UTC()
			if err := l.out.add("upstream_oauth_links", ulidx.UUID(l.newID(created)), ulidx.UUID(providerID), ulidx.UUID(u.id), subject, created); err != nil {
				return err
			}
			l.progress.migrate()
			return nil
		})
}

// loadDevicelessTokens migrates the access tokens that have no device, each
// into a compat session of its own.
func (l *loader) loadDevicelessTokens(ctx context.Context) error {
	l.progress.start(KindAccessTokens)
	return l.query(ctx, "access_tokens", `SELECT user_id, token, valid_until_ms, last_validated FROM access_tokens
		WHERE puppets_user_id IS NULL AND refresh_token_id IS NULL AND device_id IS NULL`,
		func(rows *sql.Rows) error {
			var userID, token string
			var validUntil, lastValidated sql.NullInt64
			if err := rows.Scan(&userID, &token, &validUntil, &lastValidated); err != nil {
				return fmt.Errorf("read synapse access_tokens: %w", err)
			}
			u, err := l.user("access_tokens", userID)
			if err != nil {
				return err
			}
			if u.sessionless() {
				l.progress.skip()
				return nil
			}
			if lastValidated.Valid && !idTime(time.UnixMilli(lastValidated.Int64)) {
				return badTime("access_tokens", userID, "last_validated", lastValidated.Int64)
			}
			created := l.tokenTime(lastValidated)
			session := ulidx.UUID(l.newID(created))
			if err := l.out.add("compat_sessions", session, ulidx.UUID(u.id), nil, nil, created, false, nil, nil, nil); err != nil {
				return err
			}
			if err := l.out.add("compat_access_tokens", ulidx.UUID(l.newID(created)), session, token, created, ms(validUntil)); err != nil {
				return err
			}
			l.progress.migrate()
			return nil
		})
}

// tokenTime is a token's creation time as MAS's tool takes it: the last
// time Synapse validated it (often its creation), or now.
func (l *loader) tokenTime(lastValidated sql.NullInt64) time.Time {
	if lastValidated.Valid {
		return time.UnixMilli(lastValidated.Int64).UTC()
	}
	return l.now
}

// Row kinds of the device stream, in the order a device's rows come.
const (
	rowDevice       = 0
	rowAccessToken  = 1 // without refresh token
	rowRefreshToken = 2 // an access and refresh token pair
)

// deviceStream is devices with their tokens, sorted so that each (user,
// device) comes as one run: the device (when it is migrated at all), then
// its plain access tokens, then its refresh token pairs. Hidden devices
// (cross-signing key stores) and guest_device are not sessions. Puppet
// tokens are not migrated; a refresh pair whose successor's access token was
// used is superseded and not migrated.
const deviceStream = `
SELECT user_id, device_id, 0 AS kind, 0::bigint AS id, display_name, last_seen, ip, user_agent,
       NULL::text AS token, NULL::text AS refresh_token, NULL::bigint AS valid_until_ms, NULL::bigint AS last_validated
FROM devices
WHERE hidden IS NOT TRUE AND device_id <> 'guest_device'
UNION ALL
SELECT user_id, device_id, 1, id, NULL, NULL, NULL, NULL, token, NULL, valid_until_ms, last_validated
FROM access_tokens
WHERE puppets_user_id IS NULL AND refresh_token_id IS NULL AND device_id IS NOT NULL
UNION ALL
SELECT rt0.user_id, rt0.device_id, 2, at0.id, NULL, NULL, NULL, NULL, at0.token, rt0.token, at0.valid_until_ms, at0.last_validated
FROM refresh_tokens rt0
JOIN access_tokens at0 ON at0.refresh_token_id = rt0.id AND at0.user_id = rt0.user_id AND at0.device_id = rt0.device_id
LEFT JOIN access_tokens at1 ON at1.refresh_token_id = rt0.next_token_id
WHERE at1.used IS NOT TRUE
ORDER BY user_id, device_id, kind, id`

// deviceRow is one row of deviceStream.
type deviceRow struct {
	userID, deviceID          string
	kind                      int
	displayName, ip, agent    sql.NullString
	lastSeen                  sql.NullInt64
	token, refresh            sql.NullString
	validUntil, lastValidated sql.NullInt64
}

// loadDevices migrates devices to compat sessions, with their access tokens
// and refresh token pairs. A session's ID and creation time come from its
// first token (its last validation, as MAS's tool takes it), or now for a
// device without tokens.
func (l *loader) loadDevices(ctx context.Context) error {
	l.progress.start(KindDevices)
	var group []deviceRow
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		err := l.device(group)
		group = group[:0]
		return err
	}
	err := l.query(ctx, "devices and tokens", deviceStream, func(rows *sql.Rows) error {
		var r deviceRow
		var id int64
		if err := rows.Scan(&r.userID, &r.deviceID, &r.kind, &id, &r.displayName, &r.lastSeen, &r.ip, &r.agent,
			&r.token, &r.refresh, &r.validUntil, &r.lastValidated); err != nil {
			return fmt.Errorf("read synapse devices and tokens: %w", err)
		}
		if len(group) > 0 && (group[0].userID != r.userID || group[0].deviceID != r.deviceID) {
			if err := flush(); err != nil {
				return err
			}
		}
		group = append(group, r)
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// kindOf is the progress kind a device stream row counts under.
func kindOf(row int) Kind {
	switch row {
	case rowDevice:
		return KindDevices
	case rowAccessToken:
		return KindAccessTokens
	}
	return KindRefreshTokens
}

var rowTable = [...]string{rowDevice: "devices", rowAccessToken: "access_tokens", rowRefreshToken: "refresh_tokens"}

// device migrates one (user, device) run of the device stream.
func (l *loader) device(group []deviceRow) error {
	first := group[0]
	u, err := l.user(rowTable[first.kind], first.userID)
	if err != nil {
		return err
	}
	if first.kind != rowDevice || u.sessionless() {
		// Tokens of a device that is not migrated (hidden, guest_device, or
		// gone), or rows of a user who gets no sessions.
		for _, r := range group {
			l.progress.skipKind(kindOf(r.kind))
		}
		return nil
	}
	for _, r := range group {
		if r.lastValidated.Valid && !idTime(time.UnixMilli(r.lastValidated.Int64)) {
			return badTime(rowTable[r.kind], r.userID, "last_validated", r.lastValidated.Int64)
		}
	}
	created := l.now
	if len(group) > 1 {
		created = l.tokenTime(group[1].lastValidated)
	}
	session := ulidx.UUID(l.newID(created))
	var ip any
	if first.ip.Valid && first.ip.String != "-" {
		if addr, err := netip.ParseAddr(first.ip.String); err == nil {
			ip = addr.String()
		} else {
			l.warnings.add(CodeInvalidDeviceIP, fmt.Sprintf("%s %s %q", first.userID, first.deviceID, first.ip.String))
		}
	}
	if err := l.out.add("compat_sessions", session, ulidx.UUID(u.id), first.deviceID, str(first.displayName), created,
		u.flags&flagAdmin != 0, ms(first.lastSeen), ip, str(first.agent)); err != nil {
		return err
	}
	l.progress.migrateKind(KindDevices)
	for _, r := range group[1:] {
		created := l.tokenTime(r.lastValidated)
		token := ulidx.UUID(l.newID(created))
		if err := l.out.add("compat_access_tokens", token, session, r.token.String, created, ms(r.validUntil)); err != nil {
			return err
		}
		if r.kind == rowRefreshToken {
			if err := l.out.add("compat_refresh_tokens", ulidx.UUID(l.newID(created)), session, token, r.refresh.String, created); err != nil {
				return err
			}
		}
		l.progress.migrateKind(kindOf(r.kind))
	}
	return nil
}
