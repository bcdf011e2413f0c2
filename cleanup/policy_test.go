package cleanup_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
)

const policyJob = "prune-stale-policy-data"

// policyVersions stores n versions of the policy data, a minute apart,
// the last a minute before testNow, and returns them oldest first.
func (w *world) policyVersions(n int) []*storage.PolicyData {
	w.t.Helper()
	var out []*storage.PolicyData
	for i := range n {
		at := storage.FixedClock(testNow.Add(time.Duration(i-n) * time.Minute))
		p, err := w.store.PolicyData().Set(w.ctx, at, json.RawMessage(fmt.Sprintf(`{"version": %d}`, i)))
		require.NoError(w.t, err)
		out = append(out, p)
	}
	return out
}

// policyCount counts the stored versions: a dry run keeping one would
// delete all but the newest.
func (w *world) policyCount() int {
	w.t.Helper()
	r, err := cleanup.Run(w.ctx, mustJob(w.t, policyJob), w.store, w.clock, cleanup.Options{DryRun: true, KeepPolicyData: 1})
	require.NoError(w.t, err)
	if _, err := w.store.PolicyData().Latest(w.ctx); err != nil {
		require.ErrorIs(w.t, err, storage.ErrNotFound)
		return 0
	}
	return r.Affected + 1
}

func TestPruneStalePolicyData(t *testing.T) {
	t.Parallel()

	t.Run("KeepsTheNewestTen", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			versions := w.policyVersions(13)
			r, err := cleanup.PruneStalePolicyData(w.ctx, store, w.clock, 2)
			require.NoError(t, err)
			require.True(t, r.Finished())
			require.Equal(t, 3, r.Affected)
			require.Equal(t, 2, r.Batches, "batches of 2: 2, then 1")
			latest, err := store.PolicyData().Latest(w.ctx)
			require.NoError(t, err)
			require.Equal(t, versions[12].ID, latest.ID)
			require.JSONEq(t, `{"version": 12}`, string(latest.Data))
			require.Equal(t, 10, w.policyCount())

			// Ten left: a second run deletes nothing.
			r, err = cleanup.PruneStalePolicyData(w.ctx, store, w.clock, 100)
			require.NoError(t, err)
			require.Zero(t, r.Affected)
		})
	})

	t.Run("NeverDeletesTheLastOne", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			versions := w.policyVersions(3)
			r, err := cleanup.Run(w.ctx, mustJob(t, policyJob), store, w.clock, cleanup.Options{KeepPolicyData: 1})
			require.NoError(t, err)
			require.Equal(t, 2, r.Affected)
			r, err = cleanup.Run(w.ctx, mustJob(t, policyJob), store, w.clock, cleanup.Options{KeepPolicyData: 1})
			require.NoError(t, err)
			require.Zero(t, r.Affected, "the one in force stays")
			latest, err := store.PolicyData().Latest(w.ctx)
			require.NoError(t, err)
			require.Equal(t, versions[2].ID, latest.ID)
			require.Equal(t, 1, w.policyCount())
		})
	})

	t.Run("NothingToPruneOnAnEmptyTable", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, store storage.Store) {
			w := newWorld(t, store)
			r, err := cleanup.PruneStalePolicyData(w.ctx, store, w.clock, 10)
			require.NoError(t, err)
			require.Zero(t, r.Affected)
			_, err = store.PolicyData().Latest(w.ctx)
			require.ErrorIs(t, err, storage.ErrNotFound)
		})
	})

	t.Run("KeepingNoneIsRefused", func(t *testing.T) {
		err := cleanup.Validate(storage.NewTestClock(testNow), cleanup.Options{KeepPolicyData: -1})
		require.ErrorIs(t, err, cleanup.ErrInvalidOptions)
		require.ErrorContains(t, err, "policy data to keep -1 is negative")
	})
}
