package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
)

// Policy data in the model: versions set, how a check reads them back, what
// must hold of them, and what prune-stale-policy-data must have done.

const modelPolicyJob = "prune-stale-policy-data"

// modelPolicyData are the documents SetPolicyData draws from: formatted
// several ways (jsonb keeps none of it), and two that are not JSON.
var modelPolicyData = []string{`{"admin_users":["alice"]}`, `{ "b": 1,  "a": [1, 2.50] }`, `[]`, `null`, `"x"`, `{`, ``}

// modelJSON is s as the model compares documents: re-encoded, keys sorted.
// Text that is not JSON is returned as is.
func modelJSON(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	out, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(out)
}

// modelIDTime is the creation time an ID encodes, as the snapshot shows it.
func modelIDTime(id ulid.ULID) string {
	return modelTime(ulid.Time(id.Time()))
}

func (m *model) setPolicyData(t *rapid.T) {
	data := rapid.SampledFrom(modelPolicyData).Draw(t, "policy data")
	out, ok := modelDo(m, t, fmt.Sprintf("set policy data %q", data), func(r storage.Repository, c storage.Clock, _ int) (*storage.PolicyData, error) {
		return r.PolicyData().Set(m.ctx, c, json.RawMessage(data))
	})
	if !ok {
		return
	}
	m.policies = append(m.policies, &modelPolicy{obj: out, data: modelJSON(data)})
	m.index("policy data", len(m.policies)-1, out[0].ID, out[1].ID)
}

// readPolicyData reads the version in force, and lists the others: the
// repository reads only the newest, so they are pruned, all but the newest,
// one a batch (each batch's cursor is the version it pruned), in a
// transaction rolled back (storage.ErrRollback).
func (m *model) readPolicyData(rd *modelReader, s *modelSnapshot) {
	st := m.stores[rd.side]
	s.LatestPolicy = -1
	latest, err := st.PolicyData().Latest(m.ctx)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		rd.fail("latest policy data: %v", err)
	default:
		if s.LatestPolicy = rd.ref("policy data", latest.ID); s.LatestPolicy >= 0 {
			s.Policies[s.LatestPolicy] = modelIDTime(latest.ID)
			s.LatestData = modelJSON(string(latest.Data))
		}
	}
	later := m.clocks[rd.side].Now().Add(time.Hour) // after every version
	err = st.Transact(m.ctx, func(ctx context.Context, r storage.Repository) error {
		var after storage.Cursor
		for range len(m.policies) + 1 {
			b, err := r.PolicyData().Prune(ctx, after, later, 1, 1)
			if err != nil {
				return err
			}
			if b.Scanned == 0 {
				return storage.ErrRollback
			}
			if i := rd.ref("policy data", b.Cursor.ID); i >= 0 {
				s.Policies[i] = modelIDTime(b.Cursor.ID)
			}
			after = b.Cursor
		}
		return fmt.Errorf("pruning all but the newest policy data took more batches than the %d versions set", len(m.policies))
	})
	if err != nil {
		rd.fail("list policy data: %v", err)
	}
}

// policyInvariants checks that the newest version set is there, in force,
// with the data set (its meaning, not its formatting).
func (m *model) policyInvariants(t *rapid.T, side int, now *modelSnapshot) {
	name := modelSides[side]
	n := len(m.policies)
	if n == 0 {
		require.Equal(t, -1, now.LatestPolicy, "%s: policy data in force though none was set", name)
		require.Empty(t, now.Policies, "%s: policy data though none was set", name)
		return
	}
	require.Contains(t, now.Policies, n-1, "%s: the newest policy data %d was deleted", name, n-1)
	require.Equal(t, n-1, now.LatestPolicy, "%s: the policy data in force is not the newest", name)
	require.Equal(t, m.policies[n-1].data, now.LatestData, "%s: the data of the policy in force", name)
}

// policyOracle checks the versions a step that ran jobs left, on one side:
// when prune-stale-policy-data ran, exactly the versions outside the newest
// it keeps (by this side's IDs) and older (by ULID age) than its horizon are
// gone; otherwise none.
func (m *model) policyOracle(side int, fail func(string, ...any), run modelRun, ran bool, prev, now *modelSnapshot) {
	ids := modelKeys(prev.Policies)
	slices.SortFunc(ids, func(a, b int) int { return m.policies[a].obj[side].ID.Compare(m.policies[b].obj[side].ID) })
	keep := run.opts.KeepPolicyData
	if keep == 0 {
		keep = cleanup.DefaultKeepPolicyData
	}
	for j, i := range ids {
		stale := ran && j < len(ids)-keep && modelOlder(prev.Policies[i], run.horizon)
		_, ok := now.Policies[i]
		switch {
		case !ok && !stale:
			fail("policy data %d (created at %s, %d of %d by ID, keeping %d) deleted", i, prev.Policies[i], j+1, len(ids), keep)
		case ok && stale:
			fail("policy data %d (created at %s, %d of %d by ID, keeping %d) left behind", i, prev.Policies[i], j+1, len(ids), keep)
		}
	}
}
