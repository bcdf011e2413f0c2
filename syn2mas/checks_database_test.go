package syn2mas_test

import (
	"fmt"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/syn2mas"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// dbBundle is a Synapse database with the configurations the checks need.
type dbBundle struct {
	db  *sqlx.DB
	syn *syn2mas.SynapseConfig
	mas *syn2mas.MASConfig
}

// setupDB gives a test an empty Synapse database for server example.com,
// with "oidc-google" configured in Synapse and claimed by MAS, and
// "oidc-gitlab" configured in Synapse only.
func setupDB(t *testing.T) dbBundle {
	t.Helper()
	db := pgtest.Empty(t)
	synapsetest.CreateTables(t, db.DB)
	return dbBundle{
		db: db.DB,
		syn: mustLoadSynapse(t, `
server_name: example.com
oidc_providers:
  - {idp_id: google, issuer: "https://accounts.google.com", client_id: c}
  - {idp_id: gitlab, issuer: "https://gitlab.com", client_id: c}
  - {idp_id: noissuer, client_id: c}
`),
		mas: mustLoadMAS(t, `
matrix: {homeserver: example.com}
upstream_oauth2:
  providers:
    - {id: 01JSHPZHAXC50QBKH67MH33TNF, issuer: "https://accounts.google.com", synapse_idp_id: oidc-google}
`),
	}
}

func TestVerifySynapseSchema(t *testing.T) {
	t.Parallel()

	t.Run("AcceptsSynapseTables", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		require.NoError(t, syn2mas.VerifySynapseSchema(t.Context(), b.db))
	})

	t.Run("EmptyDatabaseIsNotSynapse", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		err := syn2mas.VerifySynapseSchema(t.Context(), db.DB)
		require.ErrorIs(t, err, syn2mas.ErrNotSynapseDatabase)
		require.EqualError(t, err, "not a Synapse database: tables users, user_threepids, user_external_ids, devices, access_tokens, refresh_tokens missing")
	})

	t.Run("MissingUserExternalIDs", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		synapsetest.CreateTables(t, db.DB)
		_, err := db.DB.ExecContext(t.Context(), `DROP TABLE user_external_ids`)
		require.NoError(t, err)
		require.EqualError(t, syn2mas.VerifySynapseSchema(t.Context(), db.DB),
			"not a Synapse database: table user_external_ids missing")
	})

	t.Run("MissingColumn", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Empty(t)
		synapsetest.CreateTables(t, db.DB)
		_, err := db.DB.ExecContext(t.Context(), `ALTER TABLE users DROP COLUMN is_guest`)
		require.NoError(t, err)
		err = syn2mas.VerifySynapseSchema(t.Context(), db.DB)
		require.ErrorIs(t, err, syn2mas.ErrNotSynapseDatabase)
		require.EqualError(t, err, "not a Synapse database: column users.is_guest missing")
	})

	t.Run("TablesInAnotherSchemaOnTheSearchPath", func(t *testing.T) {
		t.Parallel()
		// The checks only read; a table reached through search_path in
		// another schema is as good as one in public.
		db := pgtest.Empty(t)
		_, err := db.DB.ExecContext(t.Context(), `CREATE SCHEMA synapse`)
		require.NoError(t, err)
		_, err = db.DB.ExecContext(t.Context(), `SET search_path TO synapse`)
		require.NoError(t, err)
		db.DB.SetMaxOpenConns(1) // keep the session whose search_path was set
		synapsetest.CreateTables(t, db.DB)
		require.NoError(t, syn2mas.VerifySynapseSchema(t.Context(), db.DB))
	})
}

func TestCheckGuestUsers(t *testing.T) {
	t.Parallel()

	t.Run("CountsGuests", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddUser(t, b.db, "@alice:example.com", false)
		synapsetest.AddUser(t, b.db, "@1:example.com", true)
		synapsetest.AddUser(t, b.db, "@2:example.com", true)
		fs, err := syn2mas.CheckGuestUsers(t.Context(), b.db)
		require.NoError(t, err)
		require.Equal(t, syn2mas.Findings{{
			Code: syn2mas.CodeGuestUsers, Severity: syn2mas.SeverityWarning, Count: 2,
			Message: "2 guest users: migrated as guest accounts without their sessions; MAS has no guest access, so they stay logged out",
		}}, fs)
	})

	t.Run("NoGuestsNoFinding", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddUser(t, b.db, "@alice:example.com", false)
		fs, err := syn2mas.CheckGuestUsers(t.Context(), b.db)
		require.NoError(t, err)
		require.Empty(t, fs)
	})
}

func TestCheckThreepids(t *testing.T) {
	t.Parallel()

	t.Run("CountsNonEmail", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddThreepid(t, b.db, "@alice:example.com", "email", "alice@example.com")
		synapsetest.AddThreepid(t, b.db, "@alice:example.com", "msisdn", "447700900001")
		synapsetest.AddThreepid(t, b.db, "@bob:example.com", "msisdn", "447700900002")
		fs, err := syn2mas.CheckThreepids(t.Context(), b.db)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		require.Equal(t, syn2mas.CodeNonEmailThreepids, fs[0].Code)
		require.Equal(t, syn2mas.SeverityWarning, fs[0].Severity)
		require.Equal(t, int64(2), fs[0].Count)
		require.Equal(t, []string{"msisdn"}, fs[0].Examples)
		require.Contains(t, fs[0].Message, "2 third-party ids are not e-mail addresses (msisdn: 2)")
	})

	t.Run("EmailOnlyNoFinding", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddThreepid(t, b.db, "@alice:example.com", "email", "alice@example.com")
		fs, err := syn2mas.CheckThreepids(t.Context(), b.db)
		require.NoError(t, err)
		require.Empty(t, fs)
	})
}

func TestCheckAuthProviders(t *testing.T) {
	t.Parallel()

	t.Run("ConfiguredProviderClaimedByMASIsFine", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddExternalID(t, b.db, "oidc-google", "g1", "@alice:example.com")
		fs, err := syn2mas.CheckAuthProviders(t.Context(), b.db, b.syn, b.mas, false)
		require.NoError(t, err)
		require.Empty(t, fs)
	})

	unknown := func(t *testing.T, ignore bool) syn2mas.Findings {
		b := setupDB(t)
		// Three users, one with two links: the count is of users.
		synapsetest.AddExternalID(t, b.db, "oidc-old", "o1", "@alice:example.com")
		synapsetest.AddExternalID(t, b.db, "oidc-old", "o2", "@alice:example.com")
		synapsetest.AddExternalID(t, b.db, "oidc-old", "o3", "@bob:example.com")
		synapsetest.AddExternalID(t, b.db, "oidc-old", "o4", "@carol:example.com")
		fs, err := syn2mas.CheckAuthProviders(t.Context(), b.db, b.syn, b.mas, ignore)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		return fs
	}

	t.Run("UnknownProviderIsAnError", func(t *testing.T) {
		t.Parallel()
		fs := unknown(t, false)
		require.Equal(t, syn2mas.Finding{
			Code: syn2mas.CodeUnknownAuthProvider, Severity: syn2mas.SeverityError,
			Provider: "oidc-old", Count: 3,
			Message: `auth provider "oidc-old" has 3 linked users, but the Synapse configuration does not define it; ` +
				`if these links are stale, ignoring missing auth providers makes the migration skip them`,
		}, fs[0])
	})

	t.Run("UnknownProviderIsAWarningWhenIgnored", func(t *testing.T) {
		t.Parallel()
		asError, asWarning := unknown(t, false)[0], unknown(t, true)[0]
		require.Equal(t, syn2mas.SeverityWarning, asWarning.Severity)
		asWarning.Severity = syn2mas.SeverityError
		require.Equal(t, asError, asWarning, "same code, message, provider and count")
	})

	t.Run("IgnoringChangesNothingElse", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddExternalID(t, b.db, "oauth-delegated", "d1", "@alice:example.com")
		synapsetest.AddExternalID(t, b.db, "oidc-gitlab", "l1", "@bob:example.com")
		synapsetest.AddExternalID(t, b.db, "oidc-old", "o1", "@carol:example.com")
		fs, err := syn2mas.CheckAuthProviders(t.Context(), b.db, b.syn, b.mas, true)
		require.NoError(t, err)
		require.Equal(t, []string{"error oauth_delegated_links", "error provider_missing_in_mas", "warning unknown_auth_provider"}, codes(fs))
	})

	t.Run("OAuthDelegatedGivesTheDelete", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddExternalID(t, b.db, "oauth-delegated", "d1", "@alice:example.com")
		synapsetest.AddExternalID(t, b.db, "oauth-delegated", "d2", "@bob:example.com")
		for _, ignore := range []bool{false, true} {
			fs, err := syn2mas.CheckAuthProviders(t.Context(), b.db, b.syn, b.mas, ignore)
			require.NoError(t, err)
			require.Len(t, fs, 1)
			require.Equal(t, syn2mas.CodeOAuthDelegatedLinks, fs[0].Code)
			require.Equal(t, syn2mas.SeverityError, fs[0].Severity, "the flag does not cover oauth-delegated")
			require.Equal(t, int64(2), fs[0].Count)
			require.Contains(t, fs[0].Message, "DELETE FROM user_external_ids WHERE auth_provider = 'oauth-delegated';")
		}
		// The statement the message gives does what it says.
		_, err := b.db.ExecContext(t.Context(), `DELETE FROM user_external_ids WHERE auth_provider = 'oauth-delegated';`)
		require.NoError(t, err)
		fs, err := syn2mas.CheckAuthProviders(t.Context(), b.db, b.syn, b.mas, false)
		require.NoError(t, err)
		require.Empty(t, fs)
	})

	t.Run("ProviderMissingFromMASNamesIssuerAndCount", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		for i := range 4 {
			synapsetest.AddExternalID(t, b.db, "oidc-gitlab", fmt.Sprint(i), fmt.Sprintf("@u%d:example.com", i))
		}
		fs, err := syn2mas.CheckAuthProviders(t.Context(), b.db, b.syn, b.mas, true)
		require.NoError(t, err)
		require.Equal(t, syn2mas.Findings{{
			Code: syn2mas.CodeProviderMissingInMAS, Severity: syn2mas.SeverityError,
			Provider: "oidc-gitlab", Issuer: "https://gitlab.com", Count: 4,
			Message: `Synapse auth provider "oidc-gitlab" (issuer https://gitlab.com) has 4 linked users, ` +
				`but no MAS upstream provider has synapse_idp_id "oidc-gitlab"; add one so that these users keep their login`,
		}}, fs)
	})

	t.Run("ProviderMissingFromMASWithoutIssuer", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddExternalID(t, b.db, "oidc-noissuer", "n1", "@alice:example.com")
		fs, err := syn2mas.CheckAuthProviders(t.Context(), b.db, b.syn, b.mas, false)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		require.Equal(t, "", fs[0].Issuer)
		require.Contains(t, fs[0].Message, `Synapse auth provider "oidc-noissuer" (issuer <unspecified>) has 1 linked user,`)
	})

	t.Run("FindingsComeInProviderOrder", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddExternalID(t, b.db, "oidc-z", "1", "@a:example.com")
		synapsetest.AddExternalID(t, b.db, "oidc-a", "1", "@a:example.com")
		synapsetest.AddExternalID(t, b.db, "oidc-m", "1", "@a:example.com")
		fs, err := syn2mas.CheckAuthProviders(t.Context(), b.db, b.syn, b.mas, false)
		require.NoError(t, err)
		var got []string
		for _, f := range fs {
			got = append(got, f.Provider)
		}
		require.Equal(t, []string{"oidc-a", "oidc-m", "oidc-z"}, got)
	})
}

func TestCheckServerNames(t *testing.T) {
	t.Parallel()

	t.Run("FlagsUsersOfOtherServers", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddUser(t, b.db, "@alice:example.com", false)
		synapsetest.AddUser(t, b.db, "@bob:example.com", true)
		for i := range 7 {
			synapsetest.AddUser(t, b.db, fmt.Sprintf("@user%d:other.org", i), false)
		}
		synapsetest.AddUser(t, b.db, "@eve:example.com.evil", false)
		synapsetest.AddUser(t, b.db, "@mallory:example.com:8448", false)
		fs, err := syn2mas.CheckServerNames(t.Context(), b.db, "example.com")
		require.NoError(t, err)
		require.Len(t, fs, 1)
		f := fs[0]
		require.Equal(t, syn2mas.CodeForeignServerUsers, f.Code)
		require.Equal(t, syn2mas.SeverityError, f.Severity)
		require.Equal(t, int64(9), f.Count)
		require.Equal(t, []string{"@eve:example.com.evil", "@mallory:example.com:8448", "@user0:other.org", "@user1:other.org", "@user2:other.org"}, f.Examples)
		require.Contains(t, f.Message, `9 users have a Matrix ID that is not on server_name "example.com" (for example @eve:example.com.evil, `)
	})

	t.Run("ServerNameWithPort", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddUser(t, b.db, "@alice:example.com:8448", false)
		synapsetest.AddUser(t, b.db, "@bob:example.com", false)
		fs, err := syn2mas.CheckServerNames(t.Context(), b.db, "example.com:8448")
		require.NoError(t, err)
		require.Len(t, fs, 1)
		require.Equal(t, []string{"@bob:example.com"}, fs[0].Examples)
	})

	t.Run("AllLocalNoFinding", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddUser(t, b.db, "@alice:example.com", false)
		fs, err := syn2mas.CheckServerNames(t.Context(), b.db, "example.com")
		require.NoError(t, err)
		require.Empty(t, fs)
	})
}

func TestCheckDatabase(t *testing.T) {
	t.Parallel()

	t.Run("RunsEveryCheckInOrder", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		synapsetest.AddUser(t, b.db, "@alice:example.com", false)
		synapsetest.AddUser(t, b.db, "@guest:example.com", true)
		synapsetest.AddUser(t, b.db, "@carol:elsewhere.org", false)
		synapsetest.AddThreepid(t, b.db, "@alice:example.com", "msisdn", "447700900001")
		synapsetest.AddExternalID(t, b.db, "oidc-google", "g1", "@alice:example.com")
		synapsetest.AddExternalID(t, b.db, "oidc-removed", "r1", "@alice:example.com")
		fs, err := syn2mas.CheckDatabase(t.Context(), b.db, b.syn, b.mas, false)
		require.NoError(t, err)
		require.Equal(t, []string{
			"warning guest_users", "warning non_email_threepids", "error unknown_auth_provider", "error foreign_server_users",
		}, codes(fs))
	})

	t.Run("EmptySynapseDatabaseHasNoFindings", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		fs, err := syn2mas.CheckDatabase(t.Context(), b.db, b.syn, b.mas, false)
		require.NoError(t, err)
		require.Empty(t, fs)
	})

	t.Run("EmptyDatabaseIsAnError", func(t *testing.T) {
		t.Parallel()
		b := setupDB(t)
		db := pgtest.Empty(t)
		_, err := syn2mas.CheckDatabase(t.Context(), db.DB, b.syn, b.mas, false)
		require.ErrorIs(t, err, syn2mas.ErrNotSynapseDatabase)
	})
}
