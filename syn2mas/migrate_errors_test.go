package syn2mas_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/syn2mas"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// withAlice is a migration of one user with a device and a token.
func withAlice(t *testing.T) *migration {
	t.Helper()
	m := newMigration(t)
	synapsetest.AddUser(t, m.syn.DB, "@alice:example.com", false)
	synapsetest.InsertDevice(t, m.syn.DB, synapsetest.Device{UserID: "@alice:example.com", DeviceID: "PHONE"})
	synapsetest.InsertAccessToken(t, m.syn.DB, synapsetest.AccessToken{ID: 1, UserID: "@alice:example.com", DeviceID: ptr("PHONE"), Token: "syt_a"})
	return m
}

func TestMigrateRefusesBadInput(t *testing.T) {
	t.Parallel()

	t.Run("MASDatabaseNotEmpty", func(t *testing.T) {
		t.Parallel()
		m := withAlice(t)
		_, err := m.mas.DB.Exec(`INSERT INTO users (user_id, username, created_at) VALUES (gen_random_uuid(), 'someone', now())`)
		require.NoError(t, err)
		err = m.run()
		require.ErrorIs(t, err, syn2mas.ErrTargetNotEmpty)
		require.ErrorContains(t, err, "table users has rows")
		require.Equal(t, 1, m.count("users"))
		require.Zero(t, m.count("compat_sessions"))
		m.requireSchemaIntact()
	})

	t.Run("SynapseStillWriting", func(t *testing.T) {
		t.Parallel()
		m := withAlice(t)
		// A Synapse transaction that has written to devices and not committed.
		tx, err := m.syn.DB.Begin()
		require.NoError(t, err)
		defer tx.Rollback()
		_, err = tx.Exec(`UPDATE devices SET last_seen = 1`)
		require.NoError(t, err)

		err = m.run()
		require.ErrorIs(t, err, syn2mas.ErrSynapseInUse)
		require.ErrorContains(t, err, "lock synapse table devices")
		require.Regexp(t, `held by pid \d+ from [^ ]+, idle in transaction$`, err.Error())
		m.requireNothingMigrated()

		// A dry run takes only ACCESS SHARE locks: it runs beside Synapse.
		m.opts.DryRun = true
		r := m.mustRun()
		require.True(t, r.DryRun)
		require.Equal(t, int64(1), r.Rows["compat_sessions"])
		m.requireNothingMigrated()
	})

	t.Run("UserOnAnotherServer", func(t *testing.T) {
		t.Parallel()
		m := withAlice(t)
		synapsetest.AddThreepid(t, m.syn.DB, "@carol:other.example", "email", "carol@example.com")
		err := m.run()
		var rowErr *syn2mas.RowError
		require.ErrorAs(t, err, &rowErr)
		require.ErrorIs(t, err, syn2mas.ErrForeignUser)
		require.Equal(t, "user_threepids", rowErr.Table)
		require.Equal(t, `synapse user_threepids row of @carol:other.example: the user ID is not on this server (server_name is "example.com")`, err.Error())
		m.requireNothingMigrated()
	})

	t.Run("UserOnAnotherServerInUsers", func(t *testing.T) {
		t.Parallel()
		m := withAlice(t)
		synapsetest.AddUser(t, m.syn.DB, "@carol:other.example", false)
		var checkErr *syn2mas.CheckError
		require.ErrorAs(t, m.run(), &checkErr)
		require.Equal(t, []string{"error foreign_server_users"}, codes(checkErr.Findings))
		m.requireNothingMigrated()
	})

	for _, c := range []struct{ table, insert string }{
		{"user_threepids", `INSERT INTO user_threepids VALUES ('@ghost:example.com', 'email', 'ghost@example.com', 0, 0)`},
		{"user_external_ids", `INSERT INTO user_external_ids VALUES ('oidc-google', 'ghost-sub', '@ghost:example.com')`},
		{"devices", `INSERT INTO devices (user_id, device_id) VALUES ('@ghost:example.com', 'D')`},
		{"access_tokens", `INSERT INTO access_tokens (id, user_id, token) VALUES (99, '@ghost:example.com', 'syt_ghost')`},
	} {
		t.Run("DanglingRowIn_"+c.table, func(t *testing.T) {
			t.Parallel()
			m := withAlice(t)
			_, err := m.syn.DB.Exec(c.insert)
			require.NoError(t, err)
			err = m.run()
			var rowErr *syn2mas.RowError
			require.ErrorAs(t, err, &rowErr)
			require.ErrorIs(t, err, syn2mas.ErrMissingUser)
			require.Equal(t, c.table, rowErr.Table)
			require.Equal(t, "@ghost:example.com", rowErr.User)
			m.requireNothingMigrated()
		})
	}

	for _, c := range []struct{ table, update, detail string }{
		{"users", `UPDATE users SET creation_ts = -1`, "creation_ts -1"},
		{"user_threepids", `INSERT INTO user_threepids VALUES ('@alice:example.com', 'email', 'a@example.com', 0, 9000000000000000)`, "added_at 9000000000000000"},
		{"access_tokens", `UPDATE access_tokens SET last_validated = 9000000000000000`, "last_validated 9000000000000000"},
	} {
		t.Run("TimestampNoIDCanHoldIn_"+c.table, func(t *testing.T) {
			t.Parallel()
			m := withAlice(t)
			_, err := m.syn.DB.Exec(c.update)
			require.NoError(t, err)
			err = m.run()
			var rowErr *syn2mas.RowError
			require.ErrorAs(t, err, &rowErr)
			require.ErrorIs(t, err, syn2mas.ErrBadTimestamp)
			require.Equal(t, c.table, rowErr.Table)
			require.Equal(t, c.detail, rowErr.Detail)
			m.requireNothingMigrated()
		})
	}

	t.Run("NotSynapse", func(t *testing.T) {
		t.Parallel()
		m := newMigration(t)
		m.syn = pgtest.Empty(t)
		err := m.run()
		require.ErrorIs(t, err, syn2mas.ErrNotSynapseDatabase)
		require.ErrorContains(t, err, "tables users, user_threepids")
		m.requireNothingMigrated()
	})

	t.Run("AnotherMigrationRunning", func(t *testing.T) {
		t.Parallel()
		m := withAlice(t)
		conn, err := m.mas.DB.Conn(t.Context())
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.ExecContext(t.Context(), `SELECT pg_advisory_lock(6584285998412104315)`)
		require.NoError(t, err)
		var pid int
		require.NoError(t, conn.QueryRowContext(t.Context(), `SELECT pg_backend_pid()`).Scan(&pid))
		err = m.run()
		require.ErrorIs(t, err, syn2mas.ErrMigrationRunning)
		require.ErrorContains(t, err, fmt.Sprintf("its lock is held by backend %d, connected since", pid))
		m.requireNothingMigrated()
	})

	t.Run("RowsTheConstraintsRejectFailTheDryRunAndTheRun", func(t *testing.T) {
		t.Parallel()
		m := withAlice(t)
		// Two access tokens claim one refresh token: MAS would hold the
		// refresh token twice, which its unique constraint refuses.
		synapsetest.InsertRefreshToken(t, m.syn.DB, synapsetest.RefreshToken{ID: 7, UserID: "@alice:example.com", DeviceID: "PHONE", Token: "syr_shared"})
		for i, tok := range []string{"syt_r1", "syt_r2"} {
			synapsetest.InsertAccessToken(t, m.syn.DB, synapsetest.AccessToken{ID: int64(10 + i), UserID: "@alice:example.com", DeviceID: ptr("PHONE"), Token: tok, RefreshTokenID: ptr(int64(7))})
		}
		for _, dry := range []bool{true, false} {
			m.opts.DryRun = dry
			err := m.run()
			require.ErrorContains(t, err, "rebuild constraint compat_refresh_tokens_refresh_token_unique on compat_refresh_tokens")
			m.requireNothingMigrated()
		}
	})
}

func TestDryRunLeavesNothing(t *testing.T) {
	t.Parallel()
	m := withAlice(t)
	synapsetest.AddThreepid(t, m.syn.DB, "@alice:example.com", "email", "alice@example.com")
	m.opts.DryRun = true
	r := m.mustRun()
	require.Equal(t, map[string]int64{
		"users": 1, "user_passwords": 1, "user_emails": 1, "user_unsupported_third_party_ids": 0,
		"upstream_oauth_links": 0, "compat_sessions": 1, "compat_access_tokens": 1, "compat_refresh_tokens": 0,
	}, r.Rows)
	m.requireNothingMigrated()

	// Nothing left behind stops the real run.
	m.opts.DryRun = false
	r = m.mustRun()
	require.False(t, r.Recovered)
	require.Equal(t, 1, m.count("compat_access_tokens"))
	m.requireSchemaIntact()
}
