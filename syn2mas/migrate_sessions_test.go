package syn2mas_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/syn2mas"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// compatSession is a compat_sessions row.
type compatSession struct {
	ID            string         `db:"compat_session_id"`
	UserID        string         `db:"user_id"`
	DeviceID      sql.NullString `db:"device_id"`
	HumanName     sql.NullString `db:"human_name"`
	CreatedAt     time.Time      `db:"created_at"`
	FinishedAt    sql.NullTime   `db:"finished_at"`
	IsSynapseAdm  bool           `db:"is_synapse_admin"`
	LastActiveAt  sql.NullTime   `db:"last_active_at"`
	LastActiveIP  sql.NullString `db:"last_active_ip"`
	UserAgent     sql.NullString `db:"user_agent"`
	UserSessionID sql.NullString `db:"user_session_id"`
}

// compatToken is a compat_access_tokens row with its refresh token, if any.
type compatToken struct {
	ID        string       `db:"compat_access_token_id"`
	SessionID string       `db:"compat_session_id"`
	Token     string       `db:"access_token"`
	CreatedAt time.Time    `db:"created_at"`
	ExpiresAt sql.NullTime `db:"expires_at"`

	RefreshID        sql.NullString `db:"compat_refresh_token_id"`
	RefreshSessionID sql.NullString `db:"refresh_session_id"`
	Refresh          sql.NullString `db:"refresh_token"`
	RefreshCreatedAt sql.NullTime   `db:"refresh_created_at"`
	RefreshConsumed  sql.NullTime   `db:"consumed_at"`
}

func TestMigrateSessions(t *testing.T) {
	t.Parallel()
	m := newMigration(t)
	db := m.syn.DB
	const alice, bob = "@alice:example.com", "@bob:example.com"
	synapsetest.InsertUser(t, db, synapsetest.User{Name: alice, CreationTS: 1_600_000_000, Admin: true})
	synapsetest.InsertUser(t, db, synapsetest.User{Name: bob, CreationTS: 1_600_000_000, Deactivated: true})

	dev := func(user, id string, d synapsetest.Device) {
		d.UserID, d.DeviceID = user, id
		synapsetest.InsertDevice(t, db, d)
	}
	tok := func(id int64, user string, device *string, token string, lastValidated *int64, a synapsetest.AccessToken) {
		a.ID, a.UserID, a.DeviceID, a.Token, a.LastValidated = id, user, device, token, lastValidated
		synapsetest.InsertAccessToken(t, db, a)
	}
	const (
		seen1 = int64(1_700_000_500_000)
		val1  = int64(1_700_000_001_001)
		val2  = int64(1_700_000_002_002)
		valR  = int64(1_700_000_003_003)
		until = int64(1_800_000_000_000)
	)
	// PHONE: two plain tokens; the session is as old as the first.
	dev(alice, "PHONE", synapsetest.Device{DisplayName: ptr("Alice's phone"), LastSeen: ptr(seen1), IP: ptr("10.0.0.1"), UserAgent: ptr("Element/1.0")})
	tok(10, alice, ptr("PHONE"), "syt_phone_1", ptr(val1), synapsetest.AccessToken{ValidUntilMS: ptr(until)})
	tok(11, alice, ptr("PHONE"), "syt_phone_2", ptr(val2), synapsetest.AccessToken{})
	// IDLE: no token, so the session is as old as the migration; "-" is
	// Synapse's "no IP".
	dev(alice, "IDLE", synapsetest.Device{IP: ptr("-")})
	// BADIP: an IP that is not an address is dropped with a warning.
	dev(alice, "BADIP", synapsetest.Device{IP: ptr("not-an-ip"), LastSeen: ptr(seen1)})
	// A hidden device is not a session; neither is guest_device.
	dev(alice, "KEYS", synapsetest.Device{Hidden: ptr(true)})
	tok(12, alice, ptr("KEYS"), "syt_hidden", ptr(val1), synapsetest.AccessToken{})
	dev(alice, "guest_device", synapsetest.Device{})
	// A token of a device Synapse no longer has.
	tok(13, alice, ptr("GONE"), "syt_gone", ptr(val1), synapsetest.AccessToken{})
	// A deviceless token gets a session of its own; one never validated is
	// as old as the migration.
	tok(14, alice, nil, "syt_deviceless", nil, synapsetest.AccessToken{ValidUntilMS: ptr(until)})
	// A puppet token (an admin acting as alice) is not migrated.
	tok(15, alice, ptr("PHONE"), "syt_puppet", ptr(val1), synapsetest.AccessToken{PuppetsUserID: ptr("@admin:example.com")})
	// TABLET: a refresh chain. Pair 1 (rt 100, at 20) was superseded: its
	// successor's access token (at 21) was used. Pair 2 (rt 101, at 21) is
	// current.
	dev(alice, "TABLET", synapsetest.Device{})
	synapsetest.InsertRefreshToken(t, db, synapsetest.RefreshToken{ID: 100, UserID: alice, DeviceID: "TABLET", Token: "syr_old", NextTokenID: ptr(int64(101))})
	synapsetest.InsertRefreshToken(t, db, synapsetest.RefreshToken{ID: 101, UserID: alice, DeviceID: "TABLET", Token: "syr_new"})
	tok(20, alice, ptr("TABLET"), "syt_tablet_old", ptr(val1), synapsetest.AccessToken{RefreshTokenID: ptr(int64(100)), Used: ptr(true)})
	tok(21, alice, ptr("TABLET"), "syt_tablet_new", ptr(valR), synapsetest.AccessToken{RefreshTokenID: ptr(int64(101)), Used: ptr(true), ValidUntilMS: ptr(until)})
	// A deactivated user's device and tokens are not migrated.
	dev(bob, "LAPTOP", synapsetest.Device{})
	tok(30, bob, ptr("LAPTOP"), "syt_bob", ptr(val1), synapsetest.AccessToken{})
	tok(31, bob, nil, "syt_bob_deviceless", ptr(val1), synapsetest.AccessToken{})

	r := m.mustRun()
	k := kindsOf(r)
	require.Equal(t, [2]int64{4, 1}, k[syn2mas.KindDevices], "PHONE, IDLE, BADIP, TABLET; bob's LAPTOP skipped")
	require.Equal(t, [2]int64{3, 4}, k[syn2mas.KindAccessTokens], "2 PHONE + deviceless; hidden, gone, bob's two skipped")
	require.Equal(t, [2]int64{1, 0}, k[syn2mas.KindRefreshTokens])
	require.Equal(t, []string{"warning device_ip_invalid"}, codes(r.Warnings))
	require.Equal(t, []string{`@alice:example.com BADIP "not-an-ip"`}, r.Warnings[0].Examples)

	var aliceID string
	require.NoError(t, m.mas.DB.Get(&aliceID, `SELECT user_id FROM users WHERE username = 'alice'`))
	var sessions []compatSession
	require.NoError(t, m.mas.DB.Select(&sessions, `SELECT * FROM compat_sessions ORDER BY device_id NULLS FIRST`))
	byDevice := map[string]compatSession{}
	for _, s := range sessions {
		require.Equal(t, aliceID, s.UserID)
		require.False(t, s.FinishedAt.Valid)
		require.False(t, s.UserSessionID.Valid)
		requireIDAt(t, s.CreatedAt, s.ID)
		byDevice[s.DeviceID.String] = s
	}
	require.Len(t, sessions, 5)
	require.Equal(t, []string{"", "BADIP", "IDLE", "PHONE", "TABLET"}, []string{
		sessions[0].DeviceID.String, sessions[1].DeviceID.String, sessions[2].DeviceID.String, sessions[3].DeviceID.String, sessions[4].DeviceID.String})

	phone := byDevice["PHONE"]
	require.Equal(t, "Alice's phone", phone.HumanName.String)
	require.Equal(t, ms(val1), phone.CreatedAt.UTC(), "a session is as old as its first token's last validation")
	require.True(t, phone.IsSynapseAdm, "alice is a Synapse admin")
	require.Equal(t, ms(seen1), phone.LastActiveAt.Time.UTC())
	require.Equal(t, "10.0.0.1", phone.LastActiveIP.String)
	require.Equal(t, "Element/1.0", phone.UserAgent.String)

	idle := byDevice["IDLE"]
	require.Equal(t, m.now, idle.CreatedAt.UTC(), "a device without tokens is as old as the migration")
	require.False(t, idle.LastActiveIP.Valid)
	require.False(t, idle.HumanName.Valid)
	require.False(t, idle.LastActiveAt.Valid)
	require.False(t, idle.UserAgent.Valid)
	require.False(t, byDevice["BADIP"].LastActiveIP.Valid)
	require.Equal(t, ms(seen1), byDevice["BADIP"].LastActiveAt.Time.UTC())

	deviceless := sessions[0]
	require.False(t, deviceless.DeviceID.Valid)
	require.False(t, deviceless.IsSynapseAdm, "a deviceless session is never admin")
	require.Equal(t, m.now, deviceless.CreatedAt.UTC())
	require.Equal(t, ms(valR), byDevice["TABLET"].CreatedAt.UTC(), "the superseded pair is not the first token")

	var tokens []compatToken
	require.NoError(t, m.mas.DB.Select(&tokens, `
		SELECT a.*, r.compat_refresh_token_id, r.compat_session_id AS refresh_session_id, r.refresh_token,
		       r.created_at AS refresh_created_at, r.consumed_at
		FROM compat_access_tokens a LEFT JOIN compat_refresh_tokens r USING (compat_access_token_id)
		ORDER BY a.access_token`))
	require.Len(t, tokens, 4)
	require.Equal(t, []string{"syt_deviceless", "syt_phone_1", "syt_phone_2", "syt_tablet_new"},
		[]string{tokens[0].Token, tokens[1].Token, tokens[2].Token, tokens[3].Token})
	for i, want := range []struct {
		session string
		created time.Time
		expires *time.Time
	}{
		{deviceless.ID, m.now, ptr(ms(until))},
		{phone.ID, ms(val1), ptr(ms(until))},
		{phone.ID, ms(val2), nil},
		{byDevice["TABLET"].ID, ms(valR), ptr(ms(until))},
	} {
		tk := tokens[i]
		require.Equal(t, want.session, tk.SessionID, tk.Token)
		require.Equal(t, want.created, tk.CreatedAt.UTC(), tk.Token)
		requireIDAt(t, want.created, tk.ID)
		require.Equal(t, want.expires, utc(tk.ExpiresAt), tk.Token)
	}
	for _, tk := range tokens[:3] {
		require.False(t, tk.RefreshID.Valid, tk.Token)
	}
	tablet := tokens[3]
	require.Equal(t, "syr_new", tablet.Refresh.String)
	require.Equal(t, tablet.SessionID, tablet.RefreshSessionID.String)
	require.Equal(t, ms(valR), tablet.RefreshCreatedAt.Time.UTC())
	requireIDAt(t, ms(valR), tablet.RefreshID.String)
	require.False(t, tablet.RefreshConsumed.Valid)
	require.Equal(t, 1, m.count("compat_refresh_tokens"))
	m.requireSchemaIntact()
}
