// Package synapsetest builds Synapse databases for tests: the tables the
// syn2mas checks read, with Synapse's real column types, and helpers that
// insert rows into them.
package synapsetest

import (
	_ "embed"
	"testing"

	"github.com/jmoiron/sqlx"
)

// Schema creates Synapse's users, user_threepids and user_external_ids
// tables as Synapse declares them (smallint flags, bigint millisecond
// timestamps).
//
//go:embed schema.sql
var Schema string

// CreatedTS is the creation and validation time, in milliseconds since the
// epoch as Synapse stores it, that the helpers give rows.
const CreatedTS int64 = 1_700_000_000_000

// CreateTables runs [Schema] on db.
func CreateTables(t testing.TB, db *sqlx.DB) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), Schema); err != nil {
		t.Fatalf("synapsetest: create Synapse tables: %v", err)
	}
}

// AddUser inserts a user named id (a full Matrix ID such as
// "@alice:example.com"), a guest when guest is true.
func AddUser(t testing.TB, db *sqlx.DB, id string, guest bool) {
	t.Helper()
	isGuest := 0
	if guest {
		isGuest = 1
	}
	exec(t, db, `INSERT INTO users (name, password_hash, creation_ts, is_guest) VALUES ($1, $2, $3, $4)`,
		id, "$2b$12$abcdefghijklmnopqrstuu", CreatedTS/1000, isGuest) // creation_ts is in seconds in Synapse
}

// AddThreepid inserts a validated third-party id of the given medium
// ("email", "msisdn") for userID.
func AddThreepid(t testing.TB, db *sqlx.DB, userID, medium, address string) {
	t.Helper()
	exec(t, db, `INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at) VALUES ($1, $2, $3, $4, $4)`,
		userID, medium, address, CreatedTS)
}

// AddExternalID links userID to externalID at the auth provider provider.
func AddExternalID(t testing.TB, db *sqlx.DB, provider, externalID, userID string) {
	t.Helper()
	exec(t, db, `INSERT INTO user_external_ids (auth_provider, external_id, user_id) VALUES ($1, $2, $3)`,
		provider, externalID, userID)
}

func exec(t testing.TB, db *sqlx.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("synapsetest: %v", err)
	}
}
