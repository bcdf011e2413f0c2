package memory

import (
	"context"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/schema"
	"github.com/masstore/masstore/storage"
)

// foreignKeyDef reads a foreign key's referenced table and ON DELETE action
// off pg_get_constraintdef's text.
var foreignKeyDef = regexp.MustCompile(`^FOREIGN KEY \([^)]*\) REFERENCES ([a-z0-9_]+)\(.*?\)(?: ON DELETE (CASCADE|SET NULL))?$`)

// TestForeignKeysMatchCatalog: every foreign key of MAS's schema into a
// table the store deletes from is declared, with its ON DELETE action, and
// every declared one is in the schema as declared.
func TestForeignKeysMatchCatalog(t *testing.T) {
	t.Parallel()
	actions := map[string]fkAction{"": noAction, "CASCADE": cascade, "SET NULL": setNull}
	declared := map[string]foreignKey{}
	for _, k := range foreignKeys {
		declared[k.child+"."+k.name] = k
	}
	deleted := newState().deleters

	for name, def := range schema.Expected().Constraints {
		if !strings.HasPrefix(def, "FOREIGN KEY") {
			continue
		}
		m := foreignKeyDef.FindStringSubmatch(def)
		require.NotNil(t, m, "%s: cannot read %q", name, def)
		k, ok := declared[name]
		if _, del := deleted[m[1]]; !del {
			require.False(t, ok, "%s references %s, which nothing deletes from", name, m[1])
			continue
		}
		require.True(t, ok, "%s references %s, which the store deletes from, but is not declared", name, m[1])
		require.Equal(t, m[1], k.parent, name)
		require.Equal(t, actions[m[2]], k.action, name)
		delete(declared, name)
	}
	require.Empty(t, declared, "declared foreign keys that are not in the schema")
}

func TestDeleteRows(t *testing.T) {
	t.Parallel()

	setup := func(t *testing.T) (context.Context, *storage.TestClock, *Store) {
		return t.Context(), storage.NewTestClock(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)), New()
	}

	t.Run("NoActionReferenceFailsAndChangesNothing", func(t *testing.T) {
		t.Parallel()
		ctx, clock, s := setup(t)
		u, err := s.Users().Add(ctx, clock, "alice")
		require.NoError(t, err)
		browser, err := s.UserSessions().Add(ctx, clock, u, "ua")
		require.NoError(t, err)
		other, err := s.UserSessions().Add(ctx, clock, u, "ua")
		require.NoError(t, err)
		compat, err := s.CompatSessions().Add(ctx, clock, u, "DEV", browser, false)
		require.NoError(t, err)
		login, err := s.CompatSessions().AddSSOLogin(ctx, clock, "tok", "https://example.org")
		require.NoError(t, err)
		_, err = s.CompatSessions().FulfillSSOLogin(ctx, clock, login, compat, other)
		require.NoError(t, err)

		// Deleting both browser sessions: other's SSO login cascades, but
		// compat_sessions_user_session_id_fkey (NO ACTION) still names browser.
		err = s.write(ctx, func(st *state) error {
			return st.deleteRows(map[string][]ulid.ULID{tUserSessions: {browser.ID, other.ID}})
		})
		require.ErrorIs(t, err, errForeignKey)
		require.ErrorContains(t, err, "compat_sessions_user_session_id_fkey")
		requireIndexesMatchRows(t, s.st)

		for _, id := range []ulid.ULID{browser.ID, other.ID} {
			_, err = s.UserSessions().Lookup(ctx, id)
			require.NoError(t, err)
		}
		_, err = s.CompatSessions().FindSSOLogin(ctx, "tok")
		require.NoError(t, err)
	})

	t.Run("NoActionReferenceOfTheLeaderFails", func(t *testing.T) {
		t.Parallel()
		ctx, clock, s := setup(t)
		leader, err := s.Queue().RegisterWorker(ctx, clock)
		require.NoError(t, err)
		other, err := s.Queue().RegisterWorker(ctx, clock)
		require.NoError(t, err)
		_, err = s.Queue().TakeLeadership(ctx, clock, leader, time.Minute)
		require.NoError(t, err)

		// queue_leader is not keyed by a ULID: the check must still see it.
		err = s.write(ctx, func(st *state) error {
			return st.deleteRows(map[string][]ulid.ULID{tQueueWorkers: {other.ID, leader.ID}})
		})
		require.ErrorIs(t, err, errForeignKey)
		require.ErrorContains(t, err, fkLeaderWorker)
		requireIndexesMatchRows(t, s.st)
		for _, id := range []ulid.ULID{leader.ID, other.ID} {
			_, err = s.Queue().LookupWorker(ctx, id)
			require.NoError(t, err)
		}
	})

	t.Run("CascadesAndNullsTransitively", func(t *testing.T) {
		t.Parallel()
		ctx, clock, s := setup(t)
		reg, err := s.Registrations().Add(ctx, clock, "newbie", netipAddr(), "ua")
		require.NoError(t, err)
		other, err := s.Registrations().Add(ctx, clock, "other", netipAddr(), "ua")
		require.NoError(t, err)
		auth, err := s.Registrations().AddEmailAuthentication(ctx, clock, "a@example.org", nil, reg)
		require.NoError(t, err)
		_, err = s.Registrations().AddEmailAuthenticationCode(ctx, clock, auth, "123456", time.Hour)
		require.NoError(t, err)
		_, err = s.Registrations().SetEmailAuthentication(ctx, other, auth)
		require.NoError(t, err)

		err = s.write(ctx, func(st *state) error {
			return st.deleteRows(map[string][]ulid.ULID{tRegistrations: {reg.ID}})
		})
		require.NoError(t, err)

		// registration → email authentication (CASCADE) → its codes
		// (CASCADE); the other registration's reference is SET NULL.
		_, err = s.Registrations().LookupEmailAuthentication(ctx, auth.ID)
		require.ErrorIs(t, err, storage.ErrNotFound)
		require.Empty(t, s.st.emailAuthCodes.rows)
		got, err := s.Registrations().Lookup(ctx, other.ID)
		require.NoError(t, err)
		require.Zero(t, got.EmailAuthenticationID)
	})
}

func TestJournalRestoresUniqueIndexes(t *testing.T) {
	t.Parallel()
	st := newState()
	m := st.j.mark()
	require.NoError(t, st.users.insert(ulid.Make(), storage.User{Username: "a"}))
	id := ulid.Make()
	require.NoError(t, st.users.insert(id, storage.User{ID: id, Username: "b"}))
	u, _ := st.users.get(id)
	u.Username = "c"
	require.NoError(t, st.users.update(id, u))
	require.ErrorIs(t, st.users.insert(ulid.Make(), storage.User{Username: "c"}), storage.ErrConflict)
	st.j.rollback(m)

	require.Empty(t, st.users.rows)
	for _, name := range []string{"a", "b", "c"} {
		_, ok := st.users.find(uqUsername, name)
		require.False(t, ok, name)
	}
}

func netipAddr() netip.Addr { return netip.MustParseAddr("192.0.2.7") }
