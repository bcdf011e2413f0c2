// Package synapsetest builds Synapse databases for tests: the tables syn2mas
// reads, with Synapse's real column types, and helpers that insert rows into
// them.
package synapsetest

import (
	_ "embed"
	"testing"

	"github.com/jmoiron/sqlx"
)

// Schema creates Synapse's users, user_threepids, user_external_ids,
// devices, access_tokens and refresh_tokens tables as Synapse declares them
// (smallint flags, bigint timestamps, no foreign keys).
//
//go:embed schema.sql
var Schema string

// CreatedTS is the creation and validation time, in milliseconds since the
// epoch as Synapse stores it, that the helpers give rows.
const CreatedTS int64 = 1_700_000_000_000

// DefaultPasswordHash is the bcrypt hash [AddUser] gives users.
const DefaultPasswordHash = "$2b$12$abcdefghijklmnopqrstuu"

// CreateTables runs [Schema] on db.
func CreateTables(t testing.TB, db *sqlx.DB) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), Schema); err != nil {
		t.Fatalf("synapsetest: create Synapse tables: %v", err)
	}
}

// User is a row of Synapse's users table. Nil pointers are NULL.
type User struct {
	Name         string // the full Matrix ID, "@alice:example.com"
	PasswordHash *string
	CreationTS   int64 // seconds since the epoch, as Synapse stores it
	Admin        bool
	Guest        bool
	Deactivated  bool
	Locked       bool
	AppserviceID *string
}

// InsertUser inserts u.
func InsertUser(t testing.TB, db *sqlx.DB, u User) {
	t.Helper()
	exec(t, db, `INSERT INTO users (name, password_hash, creation_ts, admin, is_guest, deactivated, locked, appservice_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.Name, u.PasswordHash, u.CreationTS, flag(u.Admin), flag(u.Guest), flag(u.Deactivated), u.Locked, u.AppserviceID)
}

// AddUser inserts a user named id (a full Matrix ID such as
// "@alice:example.com") with [DefaultPasswordHash], created at [CreatedTS],
// a guest when guest is true.
func AddUser(t testing.TB, db *sqlx.DB, id string, guest bool) {
	t.Helper()
	hash := DefaultPasswordHash
	InsertUser(t, db, User{Name: id, PasswordHash: &hash, CreationTS: CreatedTS / 1000, Guest: guest})
}

// Threepid is a row of user_threepids.
type Threepid struct {
	UserID, Medium, Address string
	ValidatedAt, AddedAt    int64 // milliseconds
}

// InsertThreepid inserts p.
func InsertThreepid(t testing.TB, db *sqlx.DB, p Threepid) {
	t.Helper()
	exec(t, db, `INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at) VALUES ($1, $2, $3, $4, $5)`,
		p.UserID, p.Medium, p.Address, p.ValidatedAt, p.AddedAt)
}

// AddThreepid inserts a third-party id of the given medium ("email",
// "msisdn") for userID, validated and added at [CreatedTS].
func AddThreepid(t testing.TB, db *sqlx.DB, userID, medium, address string) {
	t.Helper()
	InsertThreepid(t, db, Threepid{UserID: userID, Medium: medium, Address: address, ValidatedAt: CreatedTS, AddedAt: CreatedTS})
}

// AddExternalID links userID to externalID at the auth provider provider.
func AddExternalID(t testing.TB, db *sqlx.DB, provider, externalID, userID string) {
	t.Helper()
	exec(t, db, `INSERT INTO user_external_ids (auth_provider, external_id, user_id) VALUES ($1, $2, $3)`,
		provider, externalID, userID)
}

// Device is a row of devices. Nil pointers are NULL.
type Device struct {
	UserID, DeviceID string
	DisplayName      *string
	LastSeen         *int64 // milliseconds
	IP, UserAgent    *string
	Hidden           *bool
}

// InsertDevice inserts d.
func InsertDevice(t testing.TB, db *sqlx.DB, d Device) {
	t.Helper()
	exec(t, db, `INSERT INTO devices (user_id, device_id, display_name, last_seen, ip, user_agent, hidden)
		VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, false))`,
		d.UserID, d.DeviceID, d.DisplayName, d.LastSeen, d.IP, d.UserAgent, d.Hidden)
}

// AccessToken is a row of access_tokens. Nil pointers are NULL.
type AccessToken struct {
	ID             int64
	UserID         string
	DeviceID       *string
	Token          string
	ValidUntilMS   *int64
	PuppetsUserID  *string
	LastValidated  *int64 // milliseconds
	RefreshTokenID *int64
	Used           *bool
}

// InsertAccessToken inserts a.
func InsertAccessToken(t testing.TB, db *sqlx.DB, a AccessToken) {
	t.Helper()
	exec(t, db, `INSERT INTO access_tokens (id, user_id, device_id, token, valid_until_ms, puppets_user_id, last_validated, refresh_token_id, used)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.ID, a.UserID, a.DeviceID, a.Token, a.ValidUntilMS, a.PuppetsUserID, a.LastValidated, a.RefreshTokenID, a.Used)
}

// RefreshToken is a row of refresh_tokens. Nil pointers are NULL.
type RefreshToken struct {
	ID                      int64
	UserID, DeviceID, Token string
	NextTokenID             *int64
	ExpiryTS                *int64
	UltimateSessionExpiryTS *int64
}

// InsertRefreshToken inserts r.
func InsertRefreshToken(t testing.TB, db *sqlx.DB, r RefreshToken) {
	t.Helper()
	exec(t, db, `INSERT INTO refresh_tokens (id, user_id, device_id, token, next_token_id, expiry_ts, ultimate_session_expiry_ts)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.ID, r.UserID, r.DeviceID, r.Token, r.NextTokenID, r.ExpiryTS, r.UltimateSessionExpiryTS)
}

// Ptr returns a pointer to v, for the nullable fields.
func Ptr[T any](v T) *T { return &v }

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

func exec(t testing.TB, db *sqlx.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("synapsetest: %v", err)
	}
}
