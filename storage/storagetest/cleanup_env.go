package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/storage"
)

// cleanupZones are the zones the cleanup tests run the clock in. They name
// the same instants, so every cleanup must give the same results in each.
var cleanupZones = []*time.Location{time.UTC, zone}

// cleanupHorizon is the `before` of the cleanup tests. It is a whole
// millisecond, so that a row made one microsecond earlier is also older by
// ULID age, and rows made at it or one microsecond later are not.
var cleanupHorizon = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

// cleanupEnv is what one cleanup test works with: its own store, and a clock
// and horizon in the zone under test.
type cleanupEnv struct {
	t       *testing.T
	ctx     context.Context
	store   storage.Store
	clock   *storage.TestClock
	horizon time.Time
	// cleanup is the method under test, in a case's rules.
	cleanup func(storage.Repository) storage.CleanupFunc
}

func newCleanupEnv(t *testing.T, f Factory, loc *time.Location) *cleanupEnv {
	t.Helper()
	h := cleanupHorizon.In(loc)
	return &cleanupEnv{t: t, ctx: t.Context(), store: f(t), clock: storage.NewTestClock(h), horizon: h}
}

// set moves the clock to horizon+d and returns that time.
func (e *cleanupEnv) set(d time.Duration) time.Time {
	when := e.horizon.Add(d)
	e.clock.Set(when)
	return when
}

// batch runs one batch of fn before the horizon.
func (e *cleanupEnv) batch(fn storage.CleanupFunc, after storage.Cursor, limit int) storage.Batch {
	e.t.Helper()
	b, err := fn(e.ctx, after, e.horizon, limit)
	require.NoError(e.t, err)
	return b
}

// drain runs fn in batches until one comes back short, before `before`, and
// returns the rows affected.
func (e *cleanupEnv) drain(fn storage.CleanupFunc, before time.Time) int {
	e.t.Helper()
	const limit = 3
	var cursor storage.Cursor
	affected := 0
	for range 1000 {
		b, err := fn(e.ctx, cursor, before, limit)
		require.NoError(e.t, err)
		affected += b.Affected
		if b.Scanned < limit {
			return affected
		}
		cursor = b.Cursor
	}
	require.FailNow(e.t, "cleanup did not finish in 1000 batches")
	return affected
}

// present reports whether a lookup found its row: true on nil, false on
// ErrNotFound, and fails the test on any other error.
func (e *cleanupEnv) present(err error) bool {
	e.t.Helper()
	if errors.Is(err, storage.ErrNotFound) {
		return false
	}
	require.NoError(e.t, err)
	return true
}

// The has* methods report whether a row is still there.

func (e *cleanupEnv) hasUserSession(id ulid.ULID) bool {
	_, err := e.store.UserSessions().Lookup(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasCompatSession(id ulid.ULID) bool {
	_, err := e.store.CompatSessions().Lookup(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasCompatAccessToken(token string) bool {
	_, err := e.store.CompatSessions().FindAccessToken(e.ctx, token)
	return e.present(err)
}

func (e *cleanupEnv) hasCompatRefreshToken(token string) bool {
	_, err := e.store.CompatSessions().FindRefreshToken(e.ctx, token)
	return e.present(err)
}

func (e *cleanupEnv) hasSSOLogin(token string) bool {
	_, err := e.store.CompatSessions().FindSSOLogin(e.ctx, token)
	return e.present(err)
}

func (e *cleanupEnv) hasOAuth2Session(id ulid.ULID) bool {
	_, err := e.store.OAuth2Sessions().Lookup(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasAccessToken(id ulid.ULID) bool {
	_, err := e.store.OAuth2Tokens().LookupAccessToken(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasRefreshToken(id ulid.ULID) bool {
	_, err := e.store.OAuth2Tokens().LookupRefreshToken(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasAuthorizationGrant(id ulid.ULID) bool {
	_, err := e.store.OAuth2Grants().LookupAuthorizationGrant(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasDeviceCodeGrant(id ulid.ULID) bool {
	_, err := e.store.OAuth2Grants().LookupDeviceCodeGrant(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasLink(id ulid.ULID) bool {
	_, err := e.store.UpstreamOAuth().LookupLink(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasUpstreamSession(id ulid.ULID) bool {
	_, err := e.store.UpstreamOAuth().LookupSession(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasRecoverySession(id ulid.ULID) bool {
	_, err := e.store.Recovery().LookupSession(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasRecoveryTicket(ticket string) bool {
	_, err := e.store.Recovery().FindTicket(e.ctx, ticket)
	return e.present(err)
}

func (e *cleanupEnv) hasRegistration(id ulid.ULID) bool {
	_, err := e.store.Registrations().Lookup(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasEmailAuthentication(id ulid.ULID) bool {
	_, err := e.store.Registrations().LookupEmailAuthentication(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasJob(id ulid.ULID) bool {
	_, err := e.store.Queue().LookupJob(e.ctx, id)
	return e.present(err)
}

func (e *cleanupEnv) hasWorker(id ulid.ULID) bool {
	_, err := e.store.Queue().LookupWorker(e.ctx, id)
	return e.present(err)
}

// The get* methods re-read a row that must still be there.

func (e *cleanupEnv) getUpstreamSession(id ulid.ULID) *storage.UpstreamOAuthSession {
	e.t.Helper()
	s, err := e.store.UpstreamOAuth().LookupSession(e.ctx, id)
	require.NoError(e.t, err)
	return s
}

func (e *cleanupEnv) getRegistration(id ulid.ULID) *storage.Registration {
	e.t.Helper()
	r, err := e.store.Registrations().Lookup(e.ctx, id)
	require.NoError(e.t, err)
	return r
}

func (e *cleanupEnv) getRefreshToken(id ulid.ULID) *storage.OAuth2RefreshToken {
	e.t.Helper()
	tok, err := e.store.OAuth2Tokens().LookupRefreshToken(e.ctx, id)
	require.NoError(e.t, err)
	return tok
}

func (e *cleanupEnv) getJob(id ulid.ULID) *storage.Job {
	e.t.Helper()
	j, err := e.store.Queue().LookupJob(e.ctx, id)
	require.NoError(e.t, err)
	return j
}

// authentications returns the session's authentications; a store may answer
// ErrNotFound for a session that is gone, which counts as none.
func (e *cleanupEnv) authentications(sessionID ulid.ULID) []*storage.Authentication {
	e.t.Helper()
	auths, err := e.store.UserSessions().ListAuthentications(e.ctx, sessionID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	require.NoError(e.t, err)
	return auths
}

// Fixtures the cleanup tests need beyond those of fixtures.go.

// finishedUserSession starts a browser session of a new user an hour before
// when and finishes it at when.
func (e *cleanupEnv) finishedUserSession(when time.Time) *storage.UserSession {
	e.t.Helper()
	e.clock.Set(when.Add(-time.Hour))
	s := mustUserSession(e.t, e.store, e.clock, mustUser(e.t, e.store, e.clock))
	e.clock.Set(when)
	return mustFinishUserSession(e.t, e.store, e.clock, s)
}

// consume consumes tok at the clock's time, naming next (may be nil).
func (e *cleanupEnv) consume(tok, next *storage.OAuth2RefreshToken) {
	e.t.Helper()
	_, err := e.store.OAuth2Tokens().ConsumeRefreshToken(e.ctx, e.clock, tok, next)
	require.NoError(e.t, err)
}

// completedJob enqueues a job on a queue of its own and runs it to completion.
func (e *cleanupEnv) completedJob(worker *storage.Worker) *storage.Job {
	e.t.Helper()
	j, err := e.store.Queue().CompleteJob(e.ctx, e.clock, mustRunningJob(e.t, e.store, e.clock, worker))
	require.NoError(e.t, err)
	return j
}

// failedJob enqueues a job on a queue of its own and runs it to failure.
func (e *cleanupEnv) failedJob(worker *storage.Worker) *storage.Job {
	e.t.Helper()
	j, err := e.store.Queue().FailJob(e.ctx, e.clock, mustRunningJob(e.t, e.store, e.clock, worker), "boom")
	require.NoError(e.t, err)
	return j
}

// lostJob enqueues a job, reserves it for a worker of its own and shuts that
// worker down, which makes the job lost.
func (e *cleanupEnv) lostJob() *storage.Job {
	e.t.Helper()
	w := mustWorker(e.t, e.store, e.clock)
	j := mustRunningJob(e.t, e.store, e.clock, w)
	_, err := e.store.Queue().ShutdownWorker(e.ctx, e.clock, w)
	require.NoError(e.t, err)
	j = e.getJob(j.ID)
	require.Equal(e.t, storage.JobLost, j.Status)
	return j
}

// cursorAfter reports whether cursor b is strictly after a in a cleanup's
// order: by (Time, ID), or by ID alone.
func cursorAfter(byID bool, a, b storage.Cursor) bool {
	if !byID && !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	return a.ID.Compare(b.ID) < 0
}

// requireBatch checks a batch's counts and cursor, the cursor's time
// compared as an instant (a backend may return a zero time of any zone).
func requireBatch(t *testing.T, want, got storage.Batch) {
	t.Helper()
	require.Equal(t, want.Affected, got.Affected, "affected")
	require.Equal(t, want.Scanned, got.Scanned, "scanned")
	require.True(t, sameCursor(want.Cursor, got.Cursor), "cursor %+v, want %+v", got.Cursor, want.Cursor)
}

// sameCursor reports whether a and b name the same position.
func sameCursor(a, b storage.Cursor) bool { return a.Time.Equal(b.Time) && a.ID == b.ID }
