package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

func testPolicyData(t *testing.T, f Factory) {
	t.Parallel()

	t.Run("LatestWithoutVersionIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := b.store.PolicyData().Latest(b.ctx)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("SetReturnsStoredVersion", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		const data = `{"admin_users": ["@alice:example.org"], "limits": {"sessions": 3}}`

		p, err := b.store.PolicyData().Set(b.ctx, b.clock, json.RawMessage(data))
		require.NoError(t, err)
		requireNewID(t, b.clock, p.ID)
		require.Equal(t, Epoch, p.CreatedAt)
		requireJSON(t, data, p.Data)
		requirePolicy(t, b, p)
	})

	t.Run("LatestIsNewestVersion", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		set := func(data string) *storage.PolicyData {
			p, err := b.store.PolicyData().Set(b.ctx, b.clock, json.RawMessage(data))
			require.NoError(t, err)
			return p
		}

		set(`{"v": 1}`)
		b.clock.Advance(time.Minute)
		requirePolicy(t, b, set(`{"v": 2}`))
		// Set again within the same millisecond: still the newest.
		requirePolicy(t, b, set(`{"v": 3}`))
	})

	t.Run("SetInvalidJSONIsInvalidArgumentAndKeepsLatest", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		p, err := b.store.PolicyData().Set(b.ctx, b.clock, json.RawMessage(`{"v": 1}`))
		require.NoError(t, err)
		b.clock.Advance(time.Minute)

		for _, data := range []string{`{"v":`, ``, `not json`, `{"v": 1} {"v": 2}`} {
			_, err := b.store.PolicyData().Set(b.ctx, b.clock, json.RawMessage(data))
			require.ErrorIs(t, err, storage.ErrInvalidArgument, "%q", data)
		}
		_, err = b.store.PolicyData().Set(b.ctx, b.clock, nil)
		require.ErrorIs(t, err, storage.ErrInvalidArgument, "nil")
		requirePolicy(t, b, p)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		p, err := b.store.PolicyData().Set(b.ctx, oddClock(), json.RawMessage(`[]`))
		require.NoError(t, err)
		want := storage.Timestamp(oddInstant)
		require.Equal(t, want, p.CreatedAt)
		got, err := b.store.PolicyData().Latest(b.ctx)
		require.NoError(t, err)
		require.Equal(t, want, got.CreatedAt)
		require.Equal(t, time.UTC, got.CreatedAt.Location())
	})
}

// requirePolicy checks that want is the version in force.
func requirePolicy(t *testing.T, b bundle, want *storage.PolicyData) {
	t.Helper()
	got, err := b.store.PolicyData().Latest(b.ctx)
	require.NoError(t, err)
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.CreatedAt, got.CreatedAt)
	requireJSON(t, string(want.Data), got.Data)
}

// policyVersions returns the IDs of the stored policy versions, oldest
// first, and leaves them as they are. There is no method that lists them:
// it prunes all but the newest, one a batch, in a transaction it rolls back,
// and reads each pruned version's ID off the batch's cursor.
func policyVersions(t *testing.T, ctx context.Context, store storage.Store) []ulid.ULID {
	t.Helper()
	var out []ulid.ULID
	err := store.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
		latest, err := tx.PolicyData().Latest(ctx)
		if errors.Is(err, storage.ErrNotFound) {
			return storage.ErrRollback
		}
		if err != nil {
			return err
		}
		// Every version is older than a day after the newest's creation.
		before := ulid.Time(latest.ID.Time()).Add(24 * time.Hour)
		var cursor storage.Cursor
		for range 1000 {
			b, err := tx.PolicyData().Prune(ctx, cursor, before, 1, 1)
			if err != nil {
				return err
			}
			if b.Scanned == 0 {
				break
			}
			out = append(out, b.Cursor.ID)
			cursor = b.Cursor
		}
		out = append(out, latest.ID)
		return storage.ErrRollback
	})
	require.NoError(t, err)
	return out
}
