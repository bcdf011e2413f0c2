package storagetest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// stampCase is a one-way transition of a T that stamps one of its times with
// the clock's: Finish, Revoke, Consume, Complete, Exchange, Shutdown, ...
// Its methods run the subtests every such transition shares, each on a store
// of its own.
type stampCase[T any] struct {
	op    string // the transition, as it starts the subtest names: "Finish"
	field string // the time it sets, for the subtest names: "FinishedAt"
	// start makes a T the transition applies to; the clock is at Epoch.
	start func(t *testing.T, b bundle) *T
	// apply runs the transition on x.
	apply func(b bundle, x *T) (*T, error)
	// lookup re-reads x from the store.
	lookup func(b bundle, x *T) (*T, error)
	// stamp returns the field of x the transition sets.
	stamp func(x *T) **time.Time
	// unknown returns a T with an ID no row has.
	unknown func(t *testing.T, b bundle) *T
}

// run runs every subtest of the transition.
func (c stampCase[T]) run(t *testing.T, f Factory) {
	c.testSets(t, f)
	c.testTwice(t, f)
	c.testUnknown(t, f)
}

// testSets: the transition returns x with the field set to the clock's time,
// and the store holds that.
func (c stampCase[T]) testSets(t *testing.T, f Factory) {
	t.Run(c.op+"Sets"+c.field, func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		x := c.start(t, b)
		b.clock.Advance(time.Minute)

		changed, err := c.apply(b, x)
		require.NoError(t, err)
		want := *x
		*c.stamp(&want) = at(b.clock)
		require.Equal(t, &want, changed)
		got, err := c.lookup(b, x)
		require.NoError(t, err)
		require.Equal(t, &want, got)
	})
}

// testTwice: the transition applied again, later, to the stale copy, is
// ErrAlreadyFinished, and the stored time is the first one.
func (c stampCase[T]) testTwice(t *testing.T, f Factory) {
	t.Run(c.op+"TwiceIsAlreadyFinished", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		x := c.start(t, b)
		_, err := c.apply(b, x)
		require.NoError(t, err)
		b.clock.Advance(time.Minute)

		// x is the stale copy: the store must check its own state.
		_, err = c.apply(b, x)
		require.ErrorIs(t, err, storage.ErrAlreadyFinished)
		got, err := c.lookup(b, x)
		require.NoError(t, err)
		require.Equal(t, &Epoch, *c.stamp(got))
	})
}

// testUnknown: the transition of a T the store does not have is ErrNotFound.
func (c stampCase[T]) testUnknown(t *testing.T, f Factory) {
	t.Run(c.op+"UnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		_, err := c.apply(b, c.unknown(t, b))
		require.ErrorIs(t, err, storage.ErrNotFound)
	})
}

// testConcurrent: of 16 transitions of x run at once, exactly one succeeds;
// the others are ErrAlreadyFinished.
func (c stampCase[T]) testConcurrent(t *testing.T, f Factory) {
	t.Run("Concurrent"+c.op+"HasOneWinner", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		x := c.start(t, b)

		errs := concurrently(16, func(int) error {
			_, err := c.apply(b, x)
			return err
		})
		requireOneWinner(t, errs, storage.ErrAlreadyFinished)
	})
}

// sessionRepo is what the browser, compat and OAuth 2.0 session repositories
// share.
type sessionRepo[T any] interface {
	Lookup(ctx context.Context, id ulid.ULID) (*T, error)
	Finish(ctx context.Context, clock storage.Clock, session *T) (*T, error)
	RecordActivity(ctx context.Context, clock storage.Clock, id ulid.ULID, ip netip.Addr) error
	ClearInactiveIPs(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error)
	CountStaleIPs(ctx context.Context, before time.Time) (int, error)
}

// sessionFields points into a session at what Finish and RecordActivity set.
type sessionFields struct {
	id           ulid.ULID
	finishedAt   **time.Time
	lastActiveAt **time.Time
	lastActiveIP *netip.Addr
}

// sessionCase is a kind of session (browser, compat, OAuth 2.0); its methods
// run the subtests the kinds share.
type sessionCase[T any] struct {
	name string // the repository: "UserSessions"
	repo func(r storage.Repository) sessionRepo[T]
	// start starts a session; the clock is at Epoch.
	start func(t *testing.T, b bundle) *T
	// unknown returns a session with an ID no row has.
	unknown func(t *testing.T, b bundle) *T
	fields  func(s *T) sessionFields
}

// finish is the session's Finish, which sets FinishedAt.
func (c sessionCase[T]) finish() stampCase[T] {
	return stampCase[T]{
		op:    "Finish",
		field: "FinishedAt",
		start: c.start,
		apply: func(b bundle, s *T) (*T, error) { return c.repo(b.store).Finish(b.ctx, b.clock, s) },
		lookup: func(b bundle, s *T) (*T, error) {
			return c.repo(b.store).Lookup(b.ctx, c.fields(s).id)
		},
		stamp:   func(s *T) **time.Time { return c.fields(s).finishedAt },
		unknown: c.unknown,
	}
}

// testRecordActivity: RecordActivity keeps the last time and IP; of an
// unknown session it is ErrNotFound.
func (c sessionCase[T]) testRecordActivity(t *testing.T, f Factory) {
	t.Run("RecordActivitySetsTimeAndIP", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)
		s := c.start(t, b)
		id := c.fields(s).id
		require.NoError(t, c.repo(b.store).RecordActivity(b.ctx, b.clock, id, ipA))
		b.clock.Advance(time.Minute)

		require.NoError(t, c.repo(b.store).RecordActivity(b.ctx, b.clock, id, ipB))
		got, err := c.repo(b.store).Lookup(b.ctx, id)
		require.NoError(t, err)
		want := *s
		w := c.fields(&want)
		*w.lastActiveAt, *w.lastActiveIP = at(b.clock), ipB
		require.Equal(t, &want, got)
	})

	t.Run("RecordActivityUnknownIsNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, f)

		err := c.repo(b.store).RecordActivity(b.ctx, b.clock, unknownID(b.clock), ipA)
		require.ErrorIs(t, err, storage.ErrNotFound)
	})
}
