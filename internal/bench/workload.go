package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	neturl "net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/postgres"
)

// workloadApp is the application_name of the workload's connections, by
// which the lock-wait sampler finds them.
const workloadApp = "masstore-bench-workload"

// workloadOp is one thing an identity server does all day with compat
// sessions.
type workloadOp int

const (
	// opLookup authenticates a request: the access token, then its session.
	opLookup workloadOp = iota
	// opActivity records a session's last activity and IP.
	opActivity
	// opLogin starts a session with an access and a refresh token.
	opLogin
	// opRefresh consumes a refresh token for a new token pair.
	opRefresh
	// opLogout finishes a session.
	opLogout
)

// workloadMix is how often each operation comes, in 25ths: mostly token
// checks, as on a real server.
var workloadMix = []struct {
	op     workloadOp
	weight int
}{{opLookup, 15}, {opActivity, 5}, {opLogin, 2}, {opRefresh, 2}, {opLogout, 1}}

// liveSession is a live compat session of the dataset, with its tokens.
type liveSession struct {
	id      ulid.ULID
	user    ulid.ULID
	access  string
	refresh string
}

// workload runs the operations at a fixed offered rate on its own pool of
// connections, on sessions no purge deletes.
type workload struct {
	db    *sqlx.DB
	store *postgres.Store
	clock storage.Clock
	// lookups serve opLookup, opActivity and opLogin (their users). refresh
	// and logout are taken under mu, one operation at a time: a refresh
	// puts its session back with the new token, a login adds its session to
	// logout.
	lookups []liveSession
	mu      sync.Mutex
	refresh []liveSession
	logout  []liveSession
	seq     atomic.Int64
}

// workloadSample is how many live sessions the workload draws from, and
// workloadOnce how many of them start the refresh and logout lists.
const (
	workloadSample = 40000
	workloadOnce   = 10000
)

// openWorkload connects to url with `conns` connections and samples the
// live sessions the workload will use.
func openWorkload(ctx context.Context, url string, conns int) (*workload, error) {
	db, err := sqlx.Open("postgres", withApplicationName(url, workloadApp))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	w := &workload{db: db, store: postgres.New(db), clock: storage.SystemClock{}}
	rows, err := db.QueryxContext(ctx, `
		SELECT s.compat_session_id, s.user_id, a.access_token, r.refresh_token
		FROM compat_sessions s
		JOIN compat_access_tokens a ON a.compat_session_id = s.compat_session_id
		JOIN compat_refresh_tokens r ON r.compat_access_token_id = a.compat_access_token_id
		WHERE s.finished_at IS NULL
		ORDER BY md5(s.compat_session_id::text) LIMIT $1`, workloadSample)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sample live sessions: %w", err)
	}
	defer rows.Close()
	var all []liveSession
	for rows.Next() {
		var id, user string
		var s liveSession
		if err := rows.Scan(&id, &user, &s.access, &s.refresh); err != nil {
			db.Close()
			return nil, err
		}
		s.id, _ = ulidx.ParseUUID(id)
		s.user, _ = ulidx.ParseUUID(user)
		all = append(all, s)
	}
	if err := rows.Err(); err != nil {
		db.Close()
		return nil, err
	}
	if len(all) < 3 {
		db.Close()
		return nil, fmt.Errorf("the dataset has %d live compat sessions with tokens; the workload needs at least 3", len(all))
	}
	once := min(workloadOnce, len(all)/3)
	// Capped, so that a push onto one never writes into the next.
	w.refresh, w.logout, w.lookups = all[:once:once], all[once:2*once:2*once], all[2*once:]
	return w, nil
}

func (w *workload) close() { w.db.Close() }

// withApplicationName sets application_name in a connection URL or a
// key=value connection string.
func withApplicationName(raw, app string) string {
	u, err := neturl.Parse(raw)
	if err != nil || u.Scheme == "" {
		return raw + " application_name=" + app
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}

// opRecord is one finished operation: when it was due, and how long after
// that it finished (so a late start counts: the rate is offered, not
// adjusted to what the server keeps up with).
type opRecord struct {
	op      workloadOp
	due     time.Time
	latency time.Duration
}

// workloadRun is the operations of one run, in the order they finished.
type workloadRun struct {
	mu  sync.Mutex
	ops []opRecord
	err error
}

func (r *workloadRun) add(rec opRecord, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil && r.err == nil {
		r.err = err
	}
	r.ops = append(r.ops, rec)
}

// between returns the latencies of the operations due in [from, to): of
// all, and of each operation.
func (r *workloadRun) between(from, to time.Time) (all []time.Duration, byOp map[workloadOp][]time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	byOp = map[workloadOp][]time.Duration{}
	for _, o := range r.ops {
		if !o.due.Before(from) && o.due.Before(to) {
			all = append(all, o.latency)
			byOp[o.op] = append(byOp[o.op], o.latency)
		}
	}
	return all, byOp
}

// String names the operation.
func (op workloadOp) String() string {
	switch op {
	case opLookup:
		return "token check"
	case opActivity:
		return "activity"
	case opLogin:
		return "login"
	case opRefresh:
		return "refresh"
	case opLogout:
		return "logout"
	}
	return fmt.Sprintf("operation %d", int(op))
}

// start offers `rate` operations a second until stop is called, at most
// `inflight` at once (an operation due while all are busy waits, and its
// wait counts in its latency). stop waits for the operations in flight and
// returns what ran.
func (w *workload) start(ctx context.Context, rate, inflight int) (stop func() *workloadRun) {
	run := &workloadRun{}
	done := make(chan struct{})
	finished := make(chan struct{})
	var inFlight sync.WaitGroup
	go func() {
		defer close(finished)
		rng := rand.New(rand.NewPCG(1, 2))
		var ops []workloadOp
		for _, m := range workloadMix {
			for range m.weight {
				ops = append(ops, m.op)
			}
		}
		slots := make(chan struct{}, inflight)
		interval := time.Second / time.Duration(rate)
		timer := time.NewTimer(0)
		defer timer.Stop()
		for due := time.Now(); ; due = due.Add(interval) {
			timer.Reset(time.Until(due))
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			op := ops[rng.IntN(len(ops))]
			pick := rng.IntN(len(w.lookups))
			select {
			case slots <- struct{}{}:
			case <-done:
				return
			}
			inFlight.Add(1)
			go func() {
				defer inFlight.Done()
				defer func() { <-slots }()
				err := w.do(ctx, op, pick)
				run.add(opRecord{op: op, due: due, latency: time.Since(due)}, err)
			}()
		}
	}()
	return func() *workloadRun {
		close(done)
		<-finished
		inFlight.Wait()
		return run
	}
}

// errWorkloadExhausted ends a run whose logouts outran its sample and its
// logins, or whose refreshes all are in flight.
var errWorkloadExhausted = errors.New("workload: no session left to refresh or log out (raise workloadSample)")

// pop takes the next session of list under w.mu.
func (w *workload) pop(list *[]liveSession) (liveSession, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(*list) == 0 {
		return liveSession{}, errWorkloadExhausted
	}
	s := (*list)[len(*list)-1]
	*list = (*list)[:len(*list)-1]
	return s, nil
}

// push gives list one more session, under w.mu.
func (w *workload) push(list *[]liveSession, s liveSession) {
	w.mu.Lock()
	defer w.mu.Unlock()
	*list = append(*list, s)
}

// do runs one operation, as the server's request handler would, through
// the library's repositories.
func (w *workload) do(ctx context.Context, op workloadOp, pick int) error {
	s := w.lookups[pick]
	compat := w.store.CompatSessions()
	switch op {
	case opLookup:
		t, err := compat.FindAccessToken(ctx, s.access)
		if err != nil {
			return fmt.Errorf("token check of %s: %w", s.access, err)
		}
		_, err = compat.Lookup(ctx, t.SessionID)
		return err
	case opActivity:
		ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(pick)})
		return compat.RecordActivity(ctx, w.clock, s.id, ip)
	case opLogin:
		n := w.seq.Add(1)
		var session *storage.CompatSession
		err := w.store.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
			var err error
			if session, err = tx.CompatSessions().Add(ctx, w.clock, &storage.User{ID: s.user}, fmt.Sprintf("LIVE%d", n), nil, false); err != nil {
				return fmt.Errorf("login: %w", err)
			}
			return w.addTokens(ctx, tx, session, n)
		})
		if err == nil {
			// Committed: a later logout may end it.
			w.push(&w.logout, liveSession{id: session.ID, user: s.user})
		}
		return err
	case opRefresh:
		r, err := w.pop(&w.refresh)
		if err != nil {
			return err
		}
		n := w.seq.Add(1)
		err = w.store.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
			token, err := tx.CompatSessions().FindRefreshToken(ctx, r.refresh)
			if err != nil {
				return fmt.Errorf("refresh: %w", err)
			}
			session, err := tx.CompatSessions().Lookup(ctx, token.SessionID)
			if err != nil {
				return fmt.Errorf("refresh: %w", err)
			}
			if _, err := tx.CompatSessions().ConsumeRefreshToken(ctx, w.clock, token); err != nil {
				return fmt.Errorf("refresh: %w", err)
			}
			return w.addTokens(ctx, tx, session, n)
		})
		if err == nil {
			// Committed: the client refreshes again later, with its new token.
			r.refresh = refreshToken(n)
			w.push(&w.refresh, r)
		}
		return err
	case opLogout:
		l, err := w.pop(&w.logout)
		if err != nil {
			return err
		}
		session, err := compat.Lookup(ctx, l.id)
		if err != nil {
			return fmt.Errorf("logout: %w", err)
		}
		_, err = compat.Finish(ctx, w.clock, session)
		return err
	}
	return fmt.Errorf("unknown operation %d", op)
}

// addTokens gives session a new access token and its refresh token.
func (w *workload) addTokens(ctx context.Context, tx storage.Repository, session *storage.CompatSession, n int64) error {
	access, err := tx.CompatSessions().AddAccessToken(ctx, w.clock, session, fmt.Sprintf("mct_live_%d", n), 24*time.Hour)
	if err != nil {
		return err
	}
	_, err = tx.CompatSessions().AddRefreshToken(ctx, w.clock, session, access, refreshToken(n))
	return err
}

// refreshToken is the n-th refresh token the workload issues.
func refreshToken(n int64) string { return fmt.Sprintf("mcr_live_%d", n) }

// sampleLockWaits polls the workload's backends every `every` until stop is
// called, and returns the longest any statement of theirs was seen waiting
// on a lock (measured from the statement's start, so an upper bound).
func sampleLockWaits(ctx context.Context, db *sqlx.DB, every time.Duration) (stop func() (time.Duration, error)) {
	done := make(chan struct{})
	type answer struct {
		longest time.Duration
		err     error
	}
	out := make(chan answer, 1)
	go func() {
		var a answer
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			var waits []float64
			err := db.SelectContext(ctx, &waits, `
				SELECT extract(epoch FROM clock_timestamp() - query_start)
				FROM pg_stat_activity
				WHERE application_name = $1 AND wait_event_type = 'Lock' AND datname = current_database()`, workloadApp)
			if err != nil && a.err == nil && ctx.Err() == nil {
				a.err = fmt.Errorf("lock-wait sampler: %w", err)
			}
			for _, s := range waits {
				a.longest = max(a.longest, time.Duration(s*float64(time.Second)))
			}
			select {
			case <-done:
				out <- a
				return
			case <-tick.C:
			}
		}
	}()
	return func() (time.Duration, error) {
		close(done)
		a := <-out
		return a.longest, a.err
	}
}

// latencyStats summarises a run's latencies.
type latencyStats struct {
	ops           int
	perSecond     float64
	p50, p99, max float64 // milliseconds
}

func summarise(ls []time.Duration, window time.Duration) latencyStats {
	s := latencyStats{ops: len(ls), p50: percentileMS(ls, 50), p99: percentileMS(ls, 99), max: percentileMS(ls, 100)}
	if window > 0 {
		s.perSecond = float64(len(ls)) / window.Seconds()
	}
	return s
}
