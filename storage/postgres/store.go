package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/masstore/masstore/storage"
)

// Store is a storage.Store on a PostgreSQL connection pool. It is safe for
// concurrent use.
type Store struct {
	repository
	db *sqlx.DB
}

var _ storage.Store = (*Store)(nil)

// New returns a Store on db, a pool opened with the "postgres" driver on a
// database migrated by package schema (or by MAS).
func New(db *sqlx.DB) *Store {
	return &Store{repository: repository{ext: db}, db: db}
}

// Transact runs fn in one transaction; see [Transact].
func (s *Store) Transact(ctx context.Context, fn func(ctx context.Context, tx storage.Repository) error) error {
	return Transact(ctx, s.db, fn)
}

// NewRepository returns a repository working on ext: a *sqlx.DB, where every
// call is its own transaction, or a *sqlx.Tx the caller commits or rolls
// back.
func NewRepository(ext sqlx.ExtContext) storage.Repository {
	return repository{ext: ext}
}

// Transact runs fn with a repository on a new transaction of db, and commits
// it when fn returns nil. When fn returns an error or panics, the
// transaction is rolled back; the error is fn's, except that
// storage.ErrRollback (a dry run) makes Transact return nil. A panic goes on
// after the rollback.
func Transact(ctx context.Context, db *sqlx.DB, fn func(ctx context.Context, tx storage.Repository) error) error {
	err := inTx(ctx, db, func(tx *sqlx.Tx) error {
		return fn(ctx, NewRepository(tx))
	})
	if errors.Is(err, storage.ErrRollback) {
		return nil
	}
	return err
}

// beginner is what starts a transaction: a *sqlx.DB or a *sqlx.Conn.
type beginner interface {
	BeginTxx(ctx context.Context, opts *sql.TxOptions) (*sqlx.Tx, error)
}

// inTx runs fn in a new transaction of b: committed when fn returns nil,
// rolled back when it returns an error (returned as is) or panics.
func inTx(ctx context.Context, b beginner, fn func(tx *sqlx.Tx) error) error {
	tx, err := b.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		done = true
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return fmt.Errorf("%w (and roll back: %w)", err, rbErr)
		}
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", translate(err))
	}
	return nil
}

// atomically runs the statements of fn as one unit: in a transaction of its
// own when ext can start one (a pool), else within ext, which is then
// already a transaction (the caller's).
func atomically(ctx context.Context, ext sqlx.ExtContext, fn func(ext sqlx.ExtContext) error) error {
	b, ok := ext.(beginner)
	if !ok {
		return fn(ext)
	}
	return inTx(ctx, b, func(tx *sqlx.Tx) error { return fn(tx) })
}

// repository hands out the entity repositories, all on the same ext.
type repository struct {
	ext sqlx.ExtContext
}

// Users returns the user repository.
func (r repository) Users() storage.UserRepository { return users(r) }

// UserSessions returns the browser-session repository.
func (r repository) UserSessions() storage.UserSessionRepository { return userSessions(r) }

// CompatSessions returns the compat-session repository.
func (r repository) CompatSessions() storage.CompatSessionRepository { return compatSessions(r) }

// OAuth2Clients returns the OAuth 2.0 client repository.
func (r repository) OAuth2Clients() storage.OAuth2ClientRepository { return oauth2Clients(r) }

// OAuth2Sessions returns the OAuth 2.0 session repository.
func (r repository) OAuth2Sessions() storage.OAuth2SessionRepository { return oauth2Sessions(r) }

// OAuth2Tokens returns the OAuth 2.0 token repository.
func (r repository) OAuth2Tokens() storage.OAuth2TokenRepository { return oauth2Tokens(r) }

// OAuth2Grants returns the OAuth 2.0 grant repository.
func (r repository) OAuth2Grants() storage.OAuth2GrantRepository { return oauth2Grants(r) }

// UpstreamOAuth returns the upstream OAuth 2.0 repository.
func (r repository) UpstreamOAuth() storage.UpstreamOAuthRepository { return upstreamOAuth(r) }

// Recovery returns the account-recovery repository.
func (r repository) Recovery() storage.RecoveryRepository { return recovery(r) }

// Registrations returns the registration repository.
func (r repository) Registrations() storage.RegistrationRepository { return registrations(r) }

// Queue returns the job-queue repository.
func (r repository) Queue() storage.QueueRepository { return queue(r) }

// PersonalSessions returns the personal session repository.
func (r repository) PersonalSessions() storage.PersonalSessionRepository { return personalSessions(r) }

// PolicyData returns the policy data repository.
func (r repository) PolicyData() storage.PolicyDataRepository { return policyData(r) }
