package storagetest

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/schema"
)

// cleanedTables are the tables some cleanup deletes from.
var cleanedTables = []string{
	"user_sessions", "user_session_authentications",
	"compat_sessions", "compat_access_tokens", "compat_refresh_tokens", "compat_sso_logins",
	"oauth2_sessions", "oauth2_access_tokens", "oauth2_refresh_tokens",
	"oauth2_authorization_grants", "oauth2_device_code_grant",
	"upstream_oauth_authorization_sessions", "upstream_oauth_links",
	"user_recovery_sessions", "user_recovery_tickets",
	"user_registrations", "user_email_authentications", "user_email_authentication_codes",
	"queue_jobs", "queue_workers",
	"personal_sessions", "personal_access_tokens", "policy_data",
}

// referencedTable finds the table a foreign key's definition references.
var referencedTable = regexp.MustCompile(`^FOREIGN KEY \([^)]*\) REFERENCES ([a-z0-9_]+)\(`)

// TestEveryForeignKeyIntoCleanedTablesHasAReferenceCase: the reference
// suite must run a cleanup against each foreign key of MAS's schema that
// points into a table a cleanup deletes from, so that a new table or
// constraint cannot make a batch fail unnoticed.
func TestEveryForeignKeyIntoCleanedTablesHasAReferenceCase(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, c := range referenceCases() {
		covered[c.constraint] = true
	}

	var into []string
	for name, def := range schema.Expected().Constraints {
		if !strings.HasPrefix(def, "FOREIGN KEY") {
			continue
		}
		m := referencedTable.FindStringSubmatch(def)
		require.NotNil(t, m, "%s: cannot read the referenced table of %q", name, def)
		if slices.Contains(cleanedTables, m[1]) {
			into = append(into, name)
		}
	}
	slices.Sort(into)
	require.NotEmpty(t, into)
	for _, name := range into {
		require.True(t, covered[name], "foreign key %s references a cleaned table but has no referenceCase", name)
	}
}

// TestReferenceCasesNameForeignKeysOfTheSchema: a case naming a constraint
// the schema does not have (a typo, a renamed key) covers nothing.
func TestReferenceCasesNameForeignKeysOfTheSchema(t *testing.T) {
	t.Parallel()
	constraints := schema.Expected().Constraints
	for _, c := range referenceCases() {
		def, ok := constraints[c.constraint]
		require.True(t, ok, "referenceCase %s (%s): no such constraint", c.constraint, c.cleanup)
		require.True(t, strings.HasPrefix(def, "FOREIGN KEY"), "referenceCase %s: %q is not a foreign key", c.constraint, def)
	}
}
