package schema_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/schema"
)

// alterAddsForeignKey matches an ALTER TABLE that adds a foreign key.
var alterAddsForeignKey = regexp.MustCompile(`(?is)ALTER TABLE\s+\w+\s+ADD CONSTRAINT\s+\w+\s+FOREIGN KEY`)

func TestMigrations(t *testing.T) {
	t.Parallel()
	ms := schema.Migrations()

	t.Run("NumberedFromOneWithoutGaps", func(t *testing.T) {
		for i, m := range ms {
			require.Equal(t, i+1, m.Version, m.String())
		}
		require.Equal(t, "baseline", ms[0].Name)
	})

	t.Run("ConcurrentIndexesOnlyOutsideTransactions", func(t *testing.T) {
		for _, m := range ms {
			concurrent := strings.Contains(m.SQL, "CONCURRENTLY")
			require.Equal(t, concurrent, m.NoTransaction, "%s: CONCURRENTLY iff no-transaction", m)
			if m.NoTransaction {
				for _, stmt := range m.Statements() {
					rerunnable := strings.HasPrefix(stmt, "CREATE INDEX CONCURRENTLY IF NOT EXISTS ") ||
						strings.HasPrefix(stmt, "DROP INDEX CONCURRENTLY IF EXISTS ")
					require.True(t, rerunnable, "%s: only concurrent index builds and drops, IF (NOT) EXISTS, may run outside a transaction: %s", m, stmt)
				}
			}
		}
	})

	t.Run("ForeignKeysChangeInTwoSteps", func(t *testing.T) {
		// A foreign key added to a table that exists (ALTER TABLE) must come
		// NOT VALID, then be validated; one declared by a new table (CREATE
		// TABLE) has no rows to check.
		for i, m := range ms[1:] {
			if !alterAddsForeignKey.MatchString(m.SQL) {
				continue
			}
			require.Contains(t, m.SQL, "NOT VALID", "%s adds a foreign key without NOT VALID", m)
			require.Contains(t, ms[i+2].SQL, "VALIDATE CONSTRAINT", "%s is not followed by its validation", m)
		}
	})

	t.Run("ChecksumsAreStable", func(t *testing.T) {
		again := schema.Migrations()
		for i := range ms {
			require.Equal(t, ms[i].Checksum, again[i].Checksum)
			require.Len(t, ms[i].Checksum, 64)
		}
	})
}

func TestStatementsSplitsAtLineEndSemicolons(t *testing.T) {
	t.Parallel()
	m := schema.Migration{SQL: "-- masstore:no-transaction\n-- a comment\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a\n    ON t (x);\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS b ON t (y);\n"}
	require.Equal(t, []string{
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS a\n    ON t (x);",
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS b ON t (y);",
	}, m.Statements())
}
