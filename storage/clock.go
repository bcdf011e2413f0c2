package storage

import (
	"sync"
	"time"
)

// Clock tells the time. Every method that writes a time takes one, so that
// tests and what-if runs control it.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
}

// SystemClock is the machine's clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// FixedClock is a clock stopped at one time: what a job that reads the
// clock once hands to the repository methods it calls.
type FixedClock time.Time

// Now returns the clock's time.
func (c FixedClock) Now() time.Time { return time.Time(c) }

// TestClock is a clock that only moves when told. It is safe for concurrent use.
type TestClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewTestClock returns a clock stopped at t.
func NewTestClock(t time.Time) *TestClock { return &TestClock{now: t} }

// Now returns the clock's time.
func (c *TestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *TestClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward by d and returns the new time.
func (c *TestClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Now returns clock's time as the storage keeps it: UTC, microseconds.
func Now(clock Clock) time.Time { return Timestamp(clock.Now()) }

// Timestamp returns t as the storage keeps it: UTC, truncated to the
// microsecond (what PostgreSQL's timestamptz holds).
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Horizon returns the first microsecond at or after t. A stored time s is
// before t exactly when s is before Horizon(t), so a cleanup comparing stored
// times with Horizon(before) keeps the "strictly before" contract however
// fine t is.
func Horizon(t time.Time) time.Time {
	h := Timestamp(t)
	if h.Before(t) {
		h = h.Add(time.Microsecond)
	}
	return h
}
