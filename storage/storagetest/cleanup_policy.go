package storagetest

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// policyPrune is PolicyData.Prune keeping keep versions, as a CleanupFunc.
func policyPrune(keep int) func(r storage.Repository) storage.CleanupFunc {
	return func(r storage.Repository) storage.CleanupFunc {
		return func(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
			return r.PolicyData().Prune(ctx, after, before, keep, limit)
		}
	}
}

// setPolicy stores a policy version at when and returns its ID.
func (e *cleanupEnv) setPolicy(when time.Time) ulid.ULID {
	e.t.Helper()
	e.clock.Set(when)
	p, err := e.store.PolicyData().Set(e.ctx, e.clock, json.RawMessage(`{"at": "`+when.Format(time.RFC3339Nano)+`"}`))
	require.NoError(e.t, err)
	return p.ID
}

// policyVersions returns the IDs of the stored policy versions, oldest first.
func (e *cleanupEnv) policyVersions() []ulid.ULID {
	e.t.Helper()
	return policyVersions(e.t, e.ctx, e.store)
}

// policyCleanupCases: pruning the policy data.
func policyCleanupCases() []cleanupCase {
	return []cleanupCase{{
		name:  "PolicyData.Prune",
		run:   policyPrune(1),
		order: byULIDAge,
		// Each row comes with a newer version in force, an hour after the
		// horizon, so that keeping one protects none of the rows under test.
		add: func(e *cleanupEnv, when time.Time) func() bool {
			id := e.setPolicy(when)
			e.setPolicy(e.horizon.Add(time.Hour))
			return func() bool { return slices.Contains(e.policyVersions(), id) }
		},
		rules: []cleanupRule{
			{"KeepsTheNewestKeep", func(e *cleanupEnv) {
				var ids []ulid.ULID
				for i := range 5 {
					ids = append(ids, e.setPolicy(e.horizon.Add(-time.Duration(5-i)*time.Minute)))
				}

				b := e.batch(policyPrune(3)(e.store), storage.Cursor{}, 10)
				requireBatch(e.t, storage.Batch{Affected: 2, Scanned: 2, Cursor: storage.Cursor{ID: ids[1]}}, b)
				require.Equal(e.t, ids[2:], e.policyVersions())
			}},
			{"NeverDeletesTheVersionInForce", func(e *cleanupEnv) {
				only := e.setPolicy(e.horizon.Add(-time.Hour))
				requireUntouched(e, e.cleanup(e.store))
				require.Equal(e.t, []ulid.ULID{only}, e.policyVersions())

				newer := e.setPolicy(e.horizon.Add(-time.Minute))
				require.Equal(e.t, 1, e.batch(e.cleanup(e.store), storage.Cursor{}, 10).Affected)
				require.Equal(e.t, []ulid.ULID{newer}, e.policyVersions())
				latest, err := e.store.PolicyData().Latest(e.ctx)
				require.NoError(e.t, err)
				require.Equal(e.t, newer, latest.ID)
			}},
			{"KeepCountsVersionsNotYetOld", func(e *cleanupEnv) {
				var ids []ulid.ULID
				for _, d := range []time.Duration{-3 * time.Minute, -2 * time.Minute, -time.Minute, time.Minute, 2 * time.Minute} {
					ids = append(ids, e.setPolicy(e.horizon.Add(d)))
				}

				b := e.batch(policyPrune(3)(e.store), storage.Cursor{}, 10)
				require.Equal(e.t, 2, b.Affected)
				require.Equal(e.t, ids[2:], e.policyVersions())
			}},
			{"KeepBelowOneIsInvalidArgument", func(e *cleanupEnv) {
				ids := []ulid.ULID{e.setPolicy(e.horizon.Add(-2 * time.Hour)), e.setPolicy(e.horizon.Add(-time.Hour))}

				for _, keep := range []int{0, -1} {
					_, err := e.store.PolicyData().Prune(e.ctx, storage.Cursor{}, e.horizon, keep, 10)
					require.ErrorIs(e.t, err, storage.ErrInvalidArgument, "keep %d", keep)
				}
				require.Equal(e.t, ids, e.policyVersions())
			}},
		},
	}}
}
