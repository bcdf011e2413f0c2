package memory

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// candidate is a row a cleanup examines, with the time it is ordered by
// (zero for cleanups ordered by ID).
type candidate struct {
	at time.Time
	id ulid.ULID
}

// cleanup runs fn as one atomic cleanup batch, after checking the limit.
func (r repo) cleanup(ctx context.Context, op string, limit int, fn func(st *state) (storage.Batch, error)) (storage.Batch, error) {
	return mutate(r, ctx, func(st *state) (storage.Batch, error) {
		if limit < 1 {
			return storage.Batch{}, fmt.Errorf("%s: limit %d: %w", op, limit, storage.ErrInvalidArgument)
		}
		b, err := fn(st)
		if err != nil {
			return storage.Batch{}, fmt.Errorf("%s: %w", op, err)
		}
		return b, nil
	})
}

// count runs fn as a read-only count.
func (r repo) count(ctx context.Context, fn func(st *state) int) (int, error) {
	return query(r, ctx, func(st *state) (int, error) { return fn(st), nil })
}

// byTime returns the candidates of a cleanup ordered by (time, id): rows for
// which at returns a time strictly before `before` (at microsecond
// precision), strictly after the cursor, the first limit of them in order.
// at returns nil for a row that does not qualify.
func byTime[V any](rows map[ulid.ULID]V, after storage.Cursor, before time.Time, limit int, at func(V) *time.Time) []candidate {
	horizon := storage.Horizon(before)
	first := firstCandidates{limit: limit}
	for id, v := range rows {
		t := at(v)
		if t == nil || !t.Before(horizon) {
			continue
		}
		if t.Before(after.Time) || (t.Equal(after.Time) && id.Compare(after.ID) <= 0) {
			continue
		}
		first.offer(candidate{at: *t, id: id})
	}
	return first.sorted()
}

// byAge returns the candidates of a ULID-age cleanup: rows created (by their
// ID's time) strictly before `before` for which ok holds, with an ID strictly
// after the cursor's, the first limit of them by ID.
func byAge[V any](rows map[ulid.ULID]V, after storage.Cursor, before time.Time, limit int, ok func(V) bool) []candidate {
	horizon := ulidx.Horizon(before)
	return byID(rows, after, limit, func(id ulid.ULID, v V) bool {
		return id.Compare(horizon) < 0 && ok(v)
	})
}

// byID returns the rows for which ok holds with an ID strictly after the
// cursor's, the first limit of them by ID.
func byID[V any](rows map[ulid.ULID]V, after storage.Cursor, limit int, ok func(ulid.ULID, V) bool) []candidate {
	first := firstCandidates{limit: limit}
	for id, v := range rows {
		if id.Compare(after.ID) > 0 && ok(id, v) {
			first.offer(candidate{id: id})
		}
	}
	return first.sorted()
}

// batch reports a cleanup that examined cands and affected that many rows.
func batch(cands []candidate, affected int, after storage.Cursor) storage.Batch {
	b := storage.Batch{Affected: affected, Scanned: len(cands), Cursor: after}
	if len(cands) > 0 {
		last := cands[len(cands)-1]
		b.Cursor = storage.Cursor{Time: last.at, ID: last.id}
	}
	return b
}

// ids returns the IDs of cands.
func ids(cands []candidate) []ulid.ULID {
	out := make([]ulid.ULID, len(cands))
	for i, c := range cands {
		out[i] = c.id
	}
	return out
}

// deleteAll deletes every candidate from tbl, with what goes with them, and
// reports the batch.
func deleteAll(st *state, tbl string, cands []candidate, after storage.Cursor) (storage.Batch, error) {
	if err := st.deleteRows(map[string][]ulid.ULID{tbl: ids(cands)}); err != nil {
		return storage.Batch{}, err
	}
	return batch(cands, len(cands), after), nil
}

// finishedCleanup is the finished-session cleanup of one table: where its
// rows are, when a row finished, and how sessions go with what goes with
// them (del, which gets no IDs when nothing qualifies).
type finishedCleanup[V any] struct {
	what string // "compat sessions"
	rows func(*state) map[ulid.ULID]V
	at   func(V) *time.Time
	del  func(st *state, doomed []ulid.ULID) error
}

// batch is the CleanupFunc: the first limit candidates after the cursor go.
func (f finishedCleanup[V]) batch(r repo, ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	return r.cleanup(ctx, "clean up finished "+f.what, limit, func(st *state) (storage.Batch, error) {
		cands := byTime(f.rows(st), after, before, limit, f.at)
		return batch(cands, len(cands), after), f.del(st, ids(cands))
	})
}

// window is the WindowFunc: batch's candidates, read without changing
// anything.
func (f finishedCleanup[V]) window(r repo, ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Window, error) {
	return query(r, ctx, func(st *state) (storage.Window, error) {
		if limit < 1 {
			return storage.Window{}, fmt.Errorf("read finished %s: limit %d: %w", f.what, limit, storage.ErrInvalidArgument)
		}
		cands := byTime(f.rows(st), after, before, limit, f.at)
		return storage.Window{IDs: ids(cands), Cursor: batch(cands, 0, after).Cursor}, nil
	})
}

// deleteByID is the DeleteFunc: those of ids that are sessions finished
// strictly before `before` go.
func (f finishedCleanup[V]) deleteByID(r repo, ctx context.Context, ids []ulid.ULID, before time.Time) (int, error) {
	return mutate(r, ctx, func(st *state) (int, error) {
		horizon := storage.Horizon(before)
		rows := f.rows(st)
		seen := make(map[ulid.ULID]bool, len(ids))
		var doomed []ulid.ULID
		for _, id := range ids {
			v, ok := rows[id]
			if !ok || seen[id] {
				continue
			}
			if t := f.at(v); t != nil && t.Before(horizon) {
				seen[id] = true
				doomed = append(doomed, id)
			}
		}
		if err := f.del(st, doomed); err != nil {
			return 0, fmt.Errorf("delete finished %s: %w", f.what, err)
		}
		return len(doomed), nil
	})
}

// lastActive returns the time the IP clearing of a session orders by: its
// last active time when it holds an IP, else nil.
func lastActive(ip netip.Addr, at *time.Time) *time.Time {
	if !ip.IsValid() {
		return nil
	}
	return at
}
