package syn2mas_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/syn2mas"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

func TestMigrateGeneratedPopulation(t *testing.T) {
	t.Parallel()
	pop := synapsetest.Population{ServerName: "example.com", Users: 2000}
	m := newMigration(t)
	require.NoError(t, synapsetest.Generate(t.Context(), m.syn.DB.DB, pop))
	r := m.mustRun()
	want := pop.Expect()
	require.Equal(t, map[string]int64{
		"users": int64(want.Users), "user_passwords": int64(want.Passwords), "user_emails": int64(want.Emails),
		"user_unsupported_third_party_ids": int64(want.OtherThreepids), "upstream_oauth_links": int64(want.Links),
		"compat_sessions": int64(want.Sessions), "compat_access_tokens": int64(want.AccessTokens),
		"compat_refresh_tokens": int64(want.RefreshTokens),
	}, r.Rows)
	for table, n := range r.Rows {
		require.Equal(t, int(n), m.count(table), table)
	}
	require.Equal(t, [2]int64{int64(want.Users), 20}, kindsOf(r)[syn2mas.KindUsers], "20 appservice users skipped")
	m.requireSchemaIntact()

	// A second migration of the same Synapse database into another MAS
	// database writes the same rows, up to the random part of the IDs.
	first, err := synapsetest.Digest(t.Context(), m.mas.DB.DB)
	require.NoError(t, err)
	again := newMigration(t)
	again.syn = m.syn
	again.mustRun()
	second, err := synapsetest.Digest(t.Context(), again.mas.DB.DB)
	require.NoError(t, err)
	require.Equal(t, first, second)

	t.Run("Dangling", func(t *testing.T) {
		m := newMigration(t)
		pop := pop
		pop.Dangling = true
		require.NoError(t, synapsetest.Generate(t.Context(), m.syn.DB.DB, pop))
		err := m.run()
		require.ErrorIs(t, err, syn2mas.ErrMissingUser)
		require.ErrorContains(t, err, "synapse devices row of @ghost:example.com")
		m.requireNothingMigrated()
	})
}
