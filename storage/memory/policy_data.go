package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// policyData implements storage.PolicyDataRepository.
type policyData struct{ repo }

// Set stores data as the newest version.
func (r policyData) Set(ctx context.Context, clock storage.Clock, data json.RawMessage) (*storage.PolicyData, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.PolicyData, error) {
		const op = "set policy data"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if !json.Valid(data) {
			return nil, fmt.Errorf("%s: not JSON: %w", op, storage.ErrInvalidArgument)
		}
		p := storage.PolicyData{ID: ulidx.New(now), CreatedAt: now, Data: slices.Clone(data)}
		if err := st.policyData.insert(p.ID, p); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return clonePolicyData(p), nil
	})
}

// Latest returns the version with the largest ID.
func (r policyData) Latest(ctx context.Context) (*storage.PolicyData, error) {
	return query(r.repo, ctx, func(st *state) (*storage.PolicyData, error) {
		if len(st.policyData.rows) == 0 {
			return nil, fmt.Errorf("latest policy data: %w", storage.ErrNotFound)
		}
		newest := slices.MaxFunc(slices.Collect(maps.Keys(st.policyData.rows)), ulid.ULID.Compare)
		return clonePolicyData(st.policyData.rows[newest]), nil
	})
}

// Prune deletes the versions older (by ULID age) than `before` that are not
// among the newest keep.
func (r policyData) Prune(ctx context.Context, after storage.Cursor, before time.Time, keep, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "prune policy data", limit, func(st *state) (storage.Batch, error) {
		if keep < 1 {
			return storage.Batch{}, fmt.Errorf("keep %d: %w", keep, storage.ErrInvalidArgument)
		}
		all := slices.SortedFunc(maps.Keys(st.policyData.rows), func(a, b ulid.ULID) int { return b.Compare(a) })
		if len(all) <= keep {
			return batch(nil, 0, after), nil
		}
		kept := all[keep-1] // the oldest of the newest keep
		cands := byAge(st.policyData.rows, after, before, limit, func(p storage.PolicyData) bool { return p.ID.Compare(kept) < 0 })
		return deleteAll(st, tPolicyData, cands, after)
	})
}
