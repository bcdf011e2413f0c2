package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/postgres"
	"github.com/masstore/masstore/storage/storagetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return postgres.New(pgtest.Migrated(t).DB) })
}

type bundle struct {
	db    *sqlx.DB
	store *postgres.Store
	clock *storage.TestClock
}

func setup(t *testing.T) bundle {
	t.Helper()
	db := pgtest.Migrated(t).DB
	// A non-UTC zone, so that nothing relies on the clock being in UTC.
	zone := time.FixedZone("UTC+5:30", 5*3600+30*60)
	return bundle{
		db:    db,
		store: postgres.New(db),
		clock: storage.NewTestClock(time.Date(2026, 8, 1, 12, 0, 0, 123456789, zone)),
	}
}

func countRows(t *testing.T, db *sqlx.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRowx(`SELECT count(*) FROM `+pq.QuoteIdentifier(table)).Scan(&n))
	return n
}

func TestErrors(t *testing.T) {
	t.Parallel()

	t.Run("UniqueViolationIsConflictAndNamesTheConstraint", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		_, err := b.store.Users().Add(ctx, b.clock, "alice")
		require.NoError(t, err)

		_, err = b.store.Users().Add(ctx, b.clock, "alice")
		require.ErrorIs(t, err, storage.ErrConflict)
		var pqErr *pq.Error
		require.ErrorAs(t, err, &pqErr)
		require.Equal(t, "users_username_unique", pqErr.Constraint)
	})

	t.Run("MissingReferenceIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ghost := &storage.User{ID: ulidx.New(b.clock.Now()), Username: "ghost"}
		_, err := b.store.UserSessions().Add(context.Background(), b.clock, ghost, "agent")
		require.ErrorIs(t, err, storage.ErrNotFound)
		var pqErr *pq.Error
		require.ErrorAs(t, err, &pqErr)
		require.Equal(t, "user_sessions_user_id_fkey", pqErr.Constraint)
	})

	t.Run("NilRowIsInvalidArgument", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		_, err := b.store.Users().Deactivate(ctx, b.clock, nil)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		_, err = b.store.CompatSessions().Add(ctx, b.clock, nil, "DEVICE", nil, false)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
		_, err = b.store.Queue().Reserve(ctx, b.clock, nil, []string{"q"}, 1)
		require.ErrorIs(t, err, storage.ErrInvalidArgument)
	})

	t.Run("NoRowIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.store.Users().FindByUsername(context.Background(), "nobody")
		require.ErrorIs(t, err, storage.ErrNotFound)
	})
}

func TestTransact(t *testing.T) {
	t.Parallel()

	t.Run("ErrorRollsBackAndIsReturned", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		boom := errBoom{}
		err := b.store.Transact(context.Background(), func(ctx context.Context, tx storage.Repository) error {
			_, err := tx.Users().Add(ctx, b.clock, "alice")
			require.NoError(t, err)
			return boom
		})
		require.Equal(t, boom, err)
		require.Zero(t, countRows(t, b.db, "users"))
	})

	t.Run("ErrRollbackRollsBackAndReturnsNil", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := b.store.Transact(context.Background(), func(ctx context.Context, tx storage.Repository) error {
			_, err := tx.Users().Add(ctx, b.clock, "alice")
			require.NoError(t, err)
			return storage.ErrRollback
		})
		require.NoError(t, err)
		require.Zero(t, countRows(t, b.db, "users"))
	})

	t.Run("PanicRollsBackAndGoesOn", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.PanicsWithValue(t, "boom", func() {
			_ = b.store.Transact(context.Background(), func(ctx context.Context, tx storage.Repository) error {
				_, err := tx.Users().Add(ctx, b.clock, "alice")
				require.NoError(t, err)
				panic("boom")
			})
		})
		require.Zero(t, countRows(t, b.db, "users"))
	})

	t.Run("NilCommits", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := b.store.Transact(context.Background(), func(ctx context.Context, tx storage.Repository) error {
			_, err := tx.Users().Add(ctx, b.clock, "alice")
			return err
		})
		require.NoError(t, err)
		require.Equal(t, 1, countRows(t, b.db, "users"))
	})
}

type errBoom struct{}

func (errBoom) Error() string { return "boom" }

func TestNewRepositoryOnCallersTx(t *testing.T) {
	t.Parallel()

	// Deactivate and back-channel logout take several statements: on a
	// caller's transaction they must join it, not commit on their own.
	populate := func(t *testing.T, b bundle, repo storage.Repository) *storage.User {
		ctx := context.Background()
		u, err := repo.Users().Add(ctx, b.clock, "alice")
		require.NoError(t, err)
		browser, err := repo.UserSessions().Add(ctx, b.clock, u, "agent")
		require.NoError(t, err)
		_, err = repo.CompatSessions().Add(ctx, b.clock, u, "DEVICE", browser, false)
		require.NoError(t, err)
		provider, err := repo.UpstreamOAuth().AddProvider(ctx, b.clock, storage.UpstreamOAuthProvider{
			Issuer: "https://idp.example", ClientID: "c", Scope: "openid", OnBackchannelLogout: storage.LogoutAll,
		})
		require.NoError(t, err)
		link, err := repo.UpstreamOAuth().AddLink(ctx, b.clock, provider, "sub-1", u)
		require.NoError(t, err)
		up, err := repo.UpstreamOAuth().AddSession(ctx, b.clock, provider, "state", "nonce")
		require.NoError(t, err)
		up, err = repo.UpstreamOAuth().CompleteSession(ctx, b.clock, up, link, storage.IDTokenClaims{Sub: "sub-1", Sid: "sid-1"})
		require.NoError(t, err)
		_, err = repo.UserSessions().AuthenticateWithUpstream(ctx, b.clock, browser, up)
		require.NoError(t, err)
		report, err := repo.UpstreamOAuth().BackchannelLogout(ctx, b.clock, provider, "sub-1", "")
		require.NoError(t, err)
		require.Len(t, report.FinishedCompatSessions, 1)
		_, err = repo.Users().Deactivate(ctx, b.clock, u)
		require.NoError(t, err)
		return u
	}

	t.Run("RollbackLeavesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tx, err := b.db.Beginx()
		require.NoError(t, err)
		populate(t, b, postgres.NewRepository(tx))
		require.NoError(t, tx.Rollback())
		for _, table := range []string{"users", "user_sessions", "compat_sessions", "upstream_oauth_providers"} {
			require.Zero(t, countRows(t, b.db, table), table)
		}
	})

	t.Run("CommitKeepsEverything", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tx, err := b.db.Beginx()
		require.NoError(t, err)
		u := populate(t, b, postgres.NewRepository(tx))
		require.NoError(t, tx.Commit())
		got, err := b.store.Users().Lookup(context.Background(), u.ID)
		require.NoError(t, err)
		require.NotNil(t, got.DeactivatedAt)
		require.Equal(t, 1, countRows(t, b.db, "compat_sessions"))
	})
}

func TestCleanupSkipsLockedRows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	u, err := b.store.Users().Add(ctx, b.clock, "alice")
	require.NoError(t, err)
	var sessions []*storage.CompatSession
	for range 3 {
		s, err := b.store.CompatSessions().Add(ctx, b.clock, u, "DEVICE", nil, false)
		require.NoError(t, err)
		_, err = b.store.CompatSessions().Finish(ctx, b.clock, s)
		require.NoError(t, err)
		sessions = append(sessions, s)
		b.clock.Advance(time.Second)
	}

	// Another replica holds the middle session.
	other, err := b.db.Beginx()
	require.NoError(t, err)
	defer other.Rollback()
	_, err = other.Exec(`SELECT 1 FROM compat_sessions WHERE compat_session_id = $1 FOR UPDATE`, ulidx.UUID(sessions[1].ID))
	require.NoError(t, err)

	quick, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	batch, err := b.store.CompatSessions().CleanupFinished(quick, storage.Cursor{}, b.clock.Advance(time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, 2, batch.Affected)
	require.Equal(t, 2, batch.Scanned)
	require.Equal(t, sessions[2].ID, batch.Cursor.ID)
	_, err = b.store.CompatSessions().Lookup(ctx, sessions[1].ID)
	require.NoError(t, err, "the locked session stays")

	require.NoError(t, other.Rollback())
	batch, err = b.store.CompatSessions().CleanupFinished(ctx, storage.Cursor{}, b.clock.Now(), 10)
	require.NoError(t, err)
	require.Equal(t, 1, batch.Affected)
	require.Zero(t, countRows(t, b.db, "compat_sessions"))
}
