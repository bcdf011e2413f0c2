package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// cleanupOrder is the order a cleanup examines its candidates in.
type cleanupOrder int

const (
	// byTime: by (timestamp, id); the cursor carries both.
	byTime cleanupOrder = iota
	// byULIDAge: by id, the row's age being its ID's time; the cursor's
	// Time stays zero.
	byULIDAge
	// byID: by id, qualifying by a timestamp (workers).
	byID
)

// cleanupCase is one cleanup method and how to make rows for it.
type cleanupCase struct {
	name  string
	run   func(r storage.Repository) storage.CleanupFunc
	order cleanupOrder
	// add makes a row that qualifies once the horizon is past `when` (its
	// finished_at, revoked_at, ... is when, or its ID is made at when), with
	// the clock set to when. It returns a probe reporting whether the row is
	// still there (for IP clearing: still holds its IP).
	add func(e *cleanupEnv, when time.Time) func() bool
	// rules are the cleanup's own behaviours: which rows qualify, what goes
	// with a row.
	rules []cleanupRule
}

// cleanupRule is one behaviour of a cleanup, tested on a store of its own.
type cleanupRule struct {
	name string
	run  func(e *cleanupEnv)
}

// cleanupCases lists every cleanup method of the repositories.
func cleanupCases() []cleanupCase {
	var cases []cleanupCase
	cases = append(cases, sessionCleanupCases()...)
	cases = append(cases, tokenCleanupCases()...)
	cases = append(cases, upstreamCleanupCases()...)
	cases = append(cases, flowCleanupCases()...)
	cases = append(cases, queueCleanupCases()...)
	cases = append(cases, personalCleanupCases()...)
	cases = append(cases, policyCleanupCases()...)
	return cases
}

func testCleanup(t *testing.T, f Factory) {
	t.Parallel()
	for _, loc := range cleanupZones {
		t.Run(loc.String(), func(t *testing.T) {
			t.Parallel()
			for _, c := range cleanupCases() {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					testCleanupCase(t, f, loc, c)
				})
			}
			for _, c := range countCases() {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					testCountCase(t, f, loc, c)
				})
			}
		})
	}
}

// testCleanupCase runs the behaviours every cleanup shares, then the case's own.
func testCleanupCase(t *testing.T, f Factory, loc *time.Location, c cleanupCase) {
	t.Run("OneMicrosecondBeforeHorizonGoesAtAndAfterStay", func(t *testing.T) {
		t.Parallel()
		e := newCleanupEnv(t, f, loc)
		before := c.add(e, e.horizon.Add(-time.Microsecond))
		atHorizon := c.add(e, e.horizon)
		after := c.add(e, e.horizon.Add(time.Microsecond))

		b := e.batch(c.run(e.store), storage.Cursor{}, 10)
		require.Equal(t, 1, b.Affected)
		require.Equal(t, 1, b.Scanned)
		require.False(t, before(), "row one microsecond before the horizon")
		require.True(t, atHorizon(), "row at the horizon")
		require.True(t, after(), "row one microsecond after the horizon")
	})

	t.Run("ResumesFromCursorInBatchesOfLimit", func(t *testing.T) {
		t.Parallel()
		e := newCleanupEnv(t, f, loc)
		rows := make([]func() bool, 5)
		for i := range rows {
			rows[i] = c.add(e, e.horizon.Add(-time.Duration(len(rows)-i)*time.Minute))
		}
		fn := c.run(e.store)

		var cursor storage.Cursor
		done := 0
		for _, want := range []int{2, 2, 1} {
			b := e.batch(fn, cursor, 2)
			require.Equal(t, want, b.Scanned)
			require.Equal(t, want, b.Affected)
			require.True(t, cursorAfter(c.order != byTime, cursor, b.Cursor), "cursor %v must be after %v", b.Cursor, cursor)
			if c.order == byULIDAge {
				require.True(t, b.Cursor.Time.IsZero(), "a ULID-age cleanup's cursor has no Time")
			}
			cursor = b.Cursor
			done += want
			for i, present := range rows {
				require.Equal(t, i >= done, present(), "row %d (oldest first) after %d rows", i, done)
			}
		}
		b := e.batch(fn, cursor, 2)
		require.Equal(t, 0, b.Scanned)
		require.Equal(t, 0, b.Affected)
		require.True(t, sameCursor(cursor, b.Cursor), "an empty batch returns the cursor passed in")
	})

	t.Run("RejectsLimitBelowOne", func(t *testing.T) {
		t.Parallel()
		e := newCleanupEnv(t, f, loc)
		row := c.add(e, e.horizon.Add(-time.Hour))
		fn := c.run(e.store)

		for _, limit := range []int{0, -1} {
			_, err := fn(e.ctx, storage.Cursor{}, e.horizon, limit)
			require.ErrorIs(t, err, storage.ErrInvalidArgument, "limit %d", limit)
		}
		require.True(t, row())
	})

	for _, r := range c.rules {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			e := newCleanupEnv(t, f, loc)
			e.cleanup = c.run
			r.run(e)
		})
	}
}

// countCase is a privacy count and the cleanup that clears what it counts.
type countCase struct {
	name  string
	count func(r storage.Repository) storage.CountFunc
	clear cleanupCase
	// addWithoutIP makes a row like clear.add's, at when, holding no IP.
	addWithoutIP func(e *cleanupEnv, when time.Time)
}

// countCases lists every privacy count of the repositories.
func countCases() []countCase {
	cases := ipCountCases()
	cases = append(cases, flowCountCases()...)
	return cases
}

func testCountCase(t *testing.T, f Factory, loc *time.Location, c countCase) {
	t.Run("CountsRowsBeforeHorizonUntilCleared", func(t *testing.T) {
		t.Parallel()
		e := newCleanupEnv(t, f, loc)
		c.clear.add(e, e.horizon.Add(-time.Microsecond))
		c.clear.add(e, e.horizon)
		c.clear.add(e, e.horizon.Add(time.Microsecond))
		c.addWithoutIP(e, e.horizon.Add(-time.Hour))
		count := c.count(e.store)
		later := e.horizon.Add(time.Millisecond)
		requireCount := func(want int, before time.Time) {
			t.Helper()
			n, err := count(e.ctx, before)
			require.NoError(t, err)
			require.Equal(t, want, n, "count before %s", before.Format(time.RFC3339Nano))
		}

		requireCount(1, e.horizon)
		requireCount(3, later)
		e.batch(c.clear.run(e.store), storage.Cursor{}, 10)
		requireCount(0, e.horizon)
		requireCount(2, later)
		e.drain(c.clear.run(e.store), later)
		requireCount(0, later)
	})

	// The audit must agree with the cleanup however fine the horizon: what a
	// full run leaves, the count does not report (whether both compare
	// microseconds or, for ULID-age tables, milliseconds).
	t.Run("ZeroAfterFullRunAtSubMillisecondHorizon", func(t *testing.T) {
		t.Parallel()
		e := newCleanupEnv(t, f, loc)
		c.clear.add(e, e.horizon.Add(100*time.Microsecond))
		c.clear.add(e, e.horizon.Add(300*time.Microsecond))
		before := e.horizon.Add(200 * time.Microsecond)

		e.drain(c.clear.run(e.store), before)
		n, err := c.count(e.store)(e.ctx, before)
		require.NoError(t, err)
		require.Equal(t, 0, n)
	})
}
