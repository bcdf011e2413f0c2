package syn2mas_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/syn2mas"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// kindsOf returns the report's counts as kind → {migrated, skipped}.
func kindsOf(r *syn2mas.Report) map[syn2mas.Kind][2]int64 {
	out := map[syn2mas.Kind][2]int64{}
	for _, k := range r.Kinds {
		out[k.Kind] = [2]int64{k.Migrated, k.Skipped}
	}
	return out
}

func TestMigrateUsers(t *testing.T) {
	t.Parallel()
	m := newMigration(t)
	db := m.syn.DB
	const aliceTS, bobTS, guestTS = 1_600_000_000, 1_600_000_100, 1_600_000_200
	synapsetest.InsertUser(t, db, synapsetest.User{Name: "@alice:example.com", PasswordHash: ptr("$2b$12$alice"), CreationTS: aliceTS, Admin: true, Locked: true})
	synapsetest.InsertUser(t, db, synapsetest.User{Name: "@bob:example.com", CreationTS: bobTS, Deactivated: true})
	synapsetest.InsertUser(t, db, synapsetest.User{Name: "@guest:example.com", PasswordHash: ptr("$2b$12$guest"), CreationTS: guestTS, Guest: true})
	synapsetest.InsertUser(t, db, synapsetest.User{Name: "@bridge:example.com", CreationTS: aliceTS, AppserviceID: ptr("irc")})
	synapsetest.InsertUser(t, db, synapsetest.User{Name: "@irc_a:b:example.com", CreationTS: aliceTS, AppserviceID: ptr("irc")})
	// Rows of the two appservice users are skipped, not errors.
	synapsetest.AddThreepid(t, db, "@bridge:example.com", "email", "bridge@example.com")
	synapsetest.AddThreepid(t, db, "@irc_a:b:example.com", "email", "irc@example.com")

	r := m.mustRun()
	require.Equal(t, [2]int64{3, 2}, kindsOf(r)[syn2mas.KindUsers])
	require.Equal(t, [2]int64{0, 2}, kindsOf(r)[syn2mas.KindThreepids])
	require.Contains(t, codes(r.Warnings), "warning appservice_localpart_invalid")
	require.Contains(t, codes(r.Warnings), "warning guest_users")

	type user struct {
		ID              string       `db:"user_id"`
		Username        string       `db:"username"`
		CreatedAt       time.Time    `db:"created_at"`
		LockedAt        sql.NullTime `db:"locked_at"`
		DeactivatedAt   sql.NullTime `db:"deactivated_at"`
		CanRequestAdmin bool         `db:"can_request_admin"`
		IsGuest         bool         `db:"is_guest"`
	}
	var users []user
	require.NoError(t, m.mas.DB.Select(&users, `SELECT user_id, username, created_at, locked_at, deactivated_at, can_request_admin, is_guest FROM users ORDER BY username`))
	require.Len(t, users, 3)
	at := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	for i, want := range []struct {
		name               string
		created            time.Time
		locked, deactivate *time.Time
		admin, guest       bool
	}{
		{"alice", at(aliceTS), ptr(at(aliceTS)), nil, true, false},
		{"bob", at(bobTS), nil, ptr(at(bobTS)), false, false},
		{"guest", at(guestTS), nil, nil, false, true},
	} {
		u := users[i]
		require.Equal(t, want.name, u.Username)
		requireIDAt(t, want.created, u.ID)
		require.Equal(t, want.created, u.CreatedAt.UTC(), want.name)
		require.Equal(t, want.locked, utc(u.LockedAt), want.name)
		require.Equal(t, want.deactivate, utc(u.DeactivatedAt), want.name)
		require.Equal(t, want.admin, u.CanRequestAdmin, want.name)
		require.Equal(t, want.guest, u.IsGuest, want.name)
	}

	type password struct {
		ID, UserID, Hash string
		Version          int
		CreatedAt        time.Time      `db:"created_at"`
		UpgradedFrom     sql.NullString `db:"upgraded_from_id"`
	}
	var passwords []password
	require.NoError(t, m.mas.DB.Select(&passwords, `SELECT p.user_password_id AS id, p.user_id AS userid, p.hashed_password AS hash,
		p.version, p.created_at, p.upgraded_from_id FROM user_passwords p JOIN users u USING (user_id) ORDER BY u.username`))
	require.Len(t, passwords, 2, "bob has no password hash")
	for i, want := range []struct {
		user    user
		hash    string
		created time.Time
	}{{users[0], "$2b$12$alice", at(aliceTS)}, {users[2], "$2b$12$guest", at(guestTS)}} {
		p := passwords[i]
		require.Equal(t, want.user.ID, p.UserID)
		require.Equal(t, want.hash, p.Hash)
		require.Equal(t, 1, p.Version)
		require.Equal(t, want.created, p.CreatedAt.UTC())
		requireIDAt(t, want.created, p.ID)
		require.False(t, p.UpgradedFrom.Valid)
		require.NotEqual(t, p.UserID, p.ID)
	}
	m.requireSchemaIntact()
}

func TestMigrateThreepids(t *testing.T) {
	t.Parallel()
	m := newMigration(t)
	db := m.syn.DB
	synapsetest.AddUser(t, db, "@alice:example.com", false)
	synapsetest.InsertThreepid(t, db, synapsetest.Threepid{UserID: "@alice:example.com", Medium: "email", Address: "Alice@Example.com", ValidatedAt: 1_650_000_000_000, AddedAt: 1_650_000_000_123})
	synapsetest.InsertThreepid(t, db, synapsetest.Threepid{UserID: "@alice:example.com", Medium: "msisdn", Address: "447700900000", ValidatedAt: 1_650_000_001_000, AddedAt: 1_650_000_001_456})

	r := m.mustRun()
	require.Equal(t, [2]int64{2, 0}, kindsOf(r)[syn2mas.KindThreepids])
	var alice string
	require.NoError(t, m.mas.DB.Get(&alice, `SELECT user_id FROM users WHERE username = 'alice'`))

	var email struct {
		ID        string    `db:"user_email_id"`
		UserID    string    `db:"user_id"`
		Email     string    `db:"email"`
		CreatedAt time.Time `db:"created_at"`
	}
	require.NoError(t, m.mas.DB.Get(&email, `SELECT user_email_id, user_id, email, created_at FROM user_emails`))
	require.Equal(t, alice, email.UserID)
	require.Equal(t, "Alice@Example.com", email.Email, "addresses are not lower-cased, as MAS's tool leaves them")
	require.Equal(t, ms(1_650_000_000_123), email.CreatedAt.UTC())
	requireIDAt(t, ms(1_650_000_000_123), email.ID)

	var other struct {
		UserID    string    `db:"user_id"`
		Medium    string    `db:"medium"`
		Address   string    `db:"address"`
		CreatedAt time.Time `db:"created_at"`
	}
	require.NoError(t, m.mas.DB.Get(&other, `SELECT user_id, medium, address, created_at FROM user_unsupported_third_party_ids`))
	require.Equal(t, alice, other.UserID)
	require.Equal(t, "msisdn", other.Medium)
	require.Equal(t, "447700900000", other.Address)
	require.Equal(t, ms(1_650_000_001_456), other.CreatedAt.UTC())
	m.requireSchemaIntact()
}

func TestMigrateExternalIDs(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) *migration {
		m := newMigration(t)
		synapsetest.InsertUser(t, m.syn.DB, synapsetest.User{Name: "@alice:example.com", CreationTS: 1_600_000_000})
		synapsetest.AddExternalID(t, m.syn.DB, "oidc-google", "google-sub-1", "@alice:example.com")
		synapsetest.AddExternalID(t, m.syn.DB, "oidc-removed", "old-sub", "@alice:example.com")
		return m
	}

	t.Run("UnknownProviderStopsTheMigration", func(t *testing.T) {
		t.Parallel()
		m := setup(t)
		var checkErr *syn2mas.CheckError
		require.ErrorAs(t, m.run(), &checkErr)
		require.Equal(t, []string{"error unknown_auth_provider"}, codes(checkErr.Findings))
		require.Contains(t, checkErr.Error(), `"oidc-removed"`)
		m.requireNothingMigrated()
	})

	t.Run("IgnoredProviderIsSkipped", func(t *testing.T) {
		t.Parallel()
		m := setup(t)
		m.opts.IgnoreMissingAuthProviders = true
		r := m.mustRun()
		require.Equal(t, [2]int64{1, 1}, kindsOf(r)[syn2mas.KindExternalIDs])
		require.Contains(t, codes(r.Warnings), "warning unknown_auth_provider")

		var link struct {
			ID, ProviderID, UserID, Subject string
			CreatedAt                       time.Time      `db:"created_at"`
			HumanAccountName                sql.NullString `db:"human_account_name"`
		}
		require.NoError(t, m.mas.DB.Get(&link, `SELECT upstream_oauth_link_id AS id, upstream_oauth_provider_id AS providerid,
			user_id AS userid, subject, created_at, human_account_name FROM upstream_oauth_links`))
		var alice string
		require.NoError(t, m.mas.DB.Get(&alice, `SELECT user_id FROM users WHERE username = 'alice'`))
		require.Equal(t, alice, link.UserID)
		require.Equal(t, "google-sub-1", link.Subject)
		require.Equal(t, time.Unix(1_600_000_000, 0).UTC(), link.CreatedAt.UTC(), "a link is as old as its user")
		requireIDAt(t, time.Unix(1_600_000_000, 0), link.ID)
		require.False(t, link.HumanAccountName.Valid)

		var provider struct {
			ID, Issuer, ClientID, Scope, AuthMethod, HumanName string
			CreatedAt                                          time.Time `db:"created_at"`
		}
		require.NoError(t, m.mas.DB.Get(&provider, `SELECT upstream_oauth_provider_id AS id, issuer, client_id AS clientid, scope,
			token_endpoint_auth_method AS authmethod, human_name AS humanname, created_at FROM upstream_oauth_providers`))
		require.Equal(t, link.ProviderID, provider.ID)
		requireIDAt(t, ulidTime(t, googleProvider), provider.ID)
		require.Equal(t, []string{"https://accounts.google.com", "mas-client", "openid profile", "client_secret_basic", "Google"},
			[]string{provider.Issuer, provider.ClientID, provider.Scope, provider.AuthMethod, provider.HumanName})
		require.Equal(t, m.now, provider.CreatedAt.UTC())
		m.requireSchemaIntact()
	})
}
