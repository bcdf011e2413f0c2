package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/storage"
)

// expired is what one ExpireFunc batch did.
type expired struct {
	b     storage.Batch
	users []ulid.ULID
}

// expire runs fn as one atomic ExpireFunc batch at clock's time, after
// checking the clock and the limit.
func (r repo) expire(ctx context.Context, clock storage.Clock, op string, limit int, fn func(st *state, now time.Time) (storage.Batch, []ulid.ULID, error)) (storage.Batch, []ulid.ULID, error) {
	out, err := mutate(r, ctx, func(st *state) (expired, error) {
		now, err := now(clock)
		if err != nil {
			return expired{}, fmt.Errorf("%s: %w", op, err)
		}
		if limit < 1 {
			return expired{}, fmt.Errorf("%s: limit %d: %w", op, limit, storage.ErrInvalidArgument)
		}
		b, users, err := fn(st, now)
		if err != nil {
			return expired{}, fmt.Errorf("%s: %w", op, err)
		}
		return expired{b, users}, nil
	})
	return out.b, out.users, err
}

// sessionActivity points into a session at what expiring it reads and
// sets.
type sessionActivity struct {
	finishedAt   **time.Time
	lastActiveAt *time.Time
	userID       ulid.ULID
}

// expireInactive finishes at now the first limit sessions of t, by ID after
// the cursor, that are unfinished, last active strictly before `before` and
// pass ok; it returns the batch and their distinct users, in the order of
// their first session.
func expireInactive[V any](t *table[ulid.ULID, V], now time.Time, after storage.Cursor, before time.Time, limit int, fields func(*V) sessionActivity, ok func(V) bool) (storage.Batch, []ulid.ULID, error) {
	horizon := storage.Horizon(before)
	cands := byID(t.rows, after, limit, func(_ ulid.ULID, v V) bool {
		f := fields(&v)
		return *f.finishedAt == nil && f.lastActiveAt != nil && f.lastActiveAt.Before(horizon) && ok(v)
	})
	var users []ulid.ULID
	seen := map[ulid.ULID]bool{}
	for _, c := range cands {
		v := t.rows[c.id]
		f := fields(&v)
		*f.finishedAt = timeRef(now)
		if err := t.update(c.id, v); err != nil {
			return storage.Batch{}, nil, err
		}
		if !seen[f.userID] {
			seen[f.userID] = true
			users = append(users, f.userID)
		}
	}
	return batch(cands, len(cands), after), users, nil
}
