// Package memory is the in-memory storage backend: the reference model of
// the storage contract, and the zero-setup default for hosts without
// PostgreSQL.
//
// It keeps one map per PostgreSQL table of MAS's schema and behaves as the
// database would: the same unique constraints (ErrConflict), the same
// foreign-key checks on insert (ErrNotFound) and the same ON DELETE actions,
// the upstream-session trigger, and all-or-nothing operations and
// transactions. A Store is safe for concurrent use; one lock serialises every
// change, and a transaction holds it until it ends.
package memory

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/masstore/masstore/storage"
)

// Store is an in-memory storage.Store. The zero value is not usable: call New.
type Store struct {
	repo

	mu sync.RWMutex
	st *state
}

var _ storage.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	s := &Store{st: newState()}
	s.repo = repo{s: s}
	return s
}

// errTxDone is returned by the repository of a transaction used after
// Transact returned.
var errTxDone = errors.New("memory: transaction has ended")

// txn is a running transaction. While it runs, its Transact call holds the
// store's lock; the transaction's repository serialises its own callers with
// mu instead.
type txn struct {
	mu   sync.Mutex
	done bool
}

// Transact runs fn with a repository whose changes are all committed when fn
// returns nil, and all undone when it returns an error or panics (the panic
// goes on after the rollback). storage.ErrRollback rolls back and returns nil.
// Other callers of the store wait until the transaction ends; fn must only
// use tx, never the store itself (that would wait forever).
func (s *Store) Transact(ctx context.Context, fn func(ctx context.Context, tx storage.Repository) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &txn{}
	committed := false
	defer func() {
		tx.mu.Lock()
		tx.done = true
		tx.mu.Unlock()
		if committed {
			s.st.j.commit()
		} else {
			s.st.j.rollback(0)
		}
	}()
	if err := fn(ctx, repo{s: s, tx: tx}); err != nil {
		if errors.Is(err, storage.ErrRollback) {
			return nil
		}
		return err
	}
	// Like database/sql, a transaction whose context ended does not commit.
	if err := ctx.Err(); err != nil {
		return err
	}
	committed = true
	return nil
}

// repo is a storage.Repository on a store, in a transaction when tx is set.
type repo struct {
	s  *Store
	tx *txn
}

// read runs fn on the state, for a method that changes nothing.
func (r repo) read(ctx context.Context, fn func(st *state) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.tx != nil {
		return r.inTx(fn)
	}
	r.s.mu.RLock()
	defer r.s.mu.RUnlock()
	return fn(r.s.st)
}

// write runs fn on the state as one atomic statement: when fn fails (or
// panics), every change it made is undone.
func (r repo) write(ctx context.Context, fn func(st *state) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.tx != nil {
		return r.inTx(fn)
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return atomically(r.s.st, fn, r.s.st.j.commit)
}

// inTx runs fn in the transaction: a failing fn undoes only its own changes,
// the transaction decides about the rest.
func (r repo) inTx(fn func(st *state) error) error {
	r.tx.mu.Lock()
	defer r.tx.mu.Unlock()
	if r.tx.done {
		return errTxDone
	}
	return atomically(r.s.st, fn, func() {})
}

// atomically runs fn, undoing its changes when it fails or panics, and calls
// done when it succeeds.
func atomically(st *state, fn func(st *state) error, done func()) (err error) {
	m := st.j.mark()
	ok := false
	defer func() {
		if !ok {
			st.j.rollback(m)
		}
	}()
	if err = fn(st); err != nil {
		return err
	}
	ok = true
	done()
	return nil
}

// query runs fn with read and returns its result.
func query[T any](r repo, ctx context.Context, fn func(st *state) (T, error)) (T, error) {
	var out T
	err := r.read(ctx, func(st *state) error {
		var err error
		out, err = fn(st)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// mutate runs fn with write and returns its result.
func mutate[T any](r repo, ctx context.Context, fn func(st *state) (T, error)) (T, error) {
	var out T
	err := r.write(ctx, func(st *state) error {
		var err error
		out, err = fn(st)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// now returns clock's time as the storage keeps it.
func now(clock storage.Clock) (time.Time, error) {
	if clock == nil {
		return time.Time{}, fmt.Errorf("nil clock: %w", storage.ErrInvalidArgument)
	}
	return storage.Now(clock), nil
}

// inet drops an IP's zone, which PostgreSQL's inet cannot hold (the
// PostgreSQL backend drops it too).
func inet(ip netip.Addr) netip.Addr { return ip.WithZone("") }

// timeRef returns a pointer to a copy of t.
func timeRef(t time.Time) *time.Time { return &t }

// Users returns the user repository.
func (r repo) Users() storage.UserRepository { return users{r} }

// UserSessions returns the browser-session repository.
func (r repo) UserSessions() storage.UserSessionRepository { return userSessions{r} }

// CompatSessions returns the compat-session repository.
func (r repo) CompatSessions() storage.CompatSessionRepository { return compatSessions{r} }

// OAuth2Clients returns the OAuth 2.0 client repository.
func (r repo) OAuth2Clients() storage.OAuth2ClientRepository { return oauth2Clients{r} }

// OAuth2Sessions returns the OAuth 2.0 session repository.
func (r repo) OAuth2Sessions() storage.OAuth2SessionRepository { return oauth2Sessions{r} }

// OAuth2Tokens returns the OAuth 2.0 token repository.
func (r repo) OAuth2Tokens() storage.OAuth2TokenRepository { return oauth2Tokens{r} }

// OAuth2Grants returns the OAuth 2.0 grant repository.
func (r repo) OAuth2Grants() storage.OAuth2GrantRepository { return oauth2Grants{r} }

// UpstreamOAuth returns the upstream OAuth repository.
func (r repo) UpstreamOAuth() storage.UpstreamOAuthRepository { return upstreamOAuth{r} }

// Recovery returns the account-recovery repository.
func (r repo) Recovery() storage.RecoveryRepository { return recovery{r} }

// Registrations returns the registration repository.
func (r repo) Registrations() storage.RegistrationRepository { return registrations{r} }

// PersonalSessions returns the personal-session repository.
func (r repo) PersonalSessions() storage.PersonalSessionRepository { return personalSessions{r} }

// PolicyData returns the policy-data repository.
func (r repo) PolicyData() storage.PolicyDataRepository { return policyData{r} }

// Queue returns the job-queue repository.
func (r repo) Queue() storage.QueueRepository { return queue{r} }
