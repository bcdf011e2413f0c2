package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// users is the storage.UserRepository.
type users struct{ ext sqlx.ExtContext }

const userColumns = `user_id, username, created_at, locked_at, deactivated_at`

func scanUser(row rowScanner) (*storage.User, error) {
	var u storage.User
	err := row.Scan(idCol{&u.ID}, &u.Username, timeCol{&u.CreatedAt},
		nullTimeCol{&u.LockedAt}, nullTimeCol{&u.DeactivatedAt})
	if err != nil {
		return nil, translate(err)
	}
	return &u, nil
}

// Add creates a user.
func (r users) Add(ctx context.Context, clock storage.Clock, username string) (*storage.User, error) {
	if username == "" {
		return nil, fmt.Errorf("add user: empty username: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	u := &storage.User{ID: ulidx.New(now), Username: username, CreatedAt: now}
	_, err := r.ext.ExecContext(ctx,
		`INSERT INTO users (user_id, username, created_at) VALUES ($1, $2, $3)`,
		key(u.ID), u.Username, u.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("add user %q: %w", username, translate(err))
	}
	return u, nil
}

// Lookup returns the user, or ErrNotFound.
func (r users) Lookup(ctx context.Context, id ulid.ULID) (*storage.User, error) {
	u, err := scanUser(r.ext.QueryRowxContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE user_id = $1`, key(id)))
	if err != nil {
		return nil, fmt.Errorf("lookup user %s: %w", id, err)
	}
	return u, nil
}

// FindByUsername returns the user with that exact username, or ErrNotFound.
func (r users) FindByUsername(ctx context.Context, username string) (*storage.User, error) {
	u, err := scanUser(r.ext.QueryRowxContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if err != nil {
		return nil, fmt.Errorf("find user %q: %w", username, err)
	}
	return u, nil
}

// Lock marks the user locked, keeping the first lock time.
func (r users) Lock(ctx context.Context, clock storage.Clock, user *storage.User) (*storage.User, error) {
	if user == nil {
		return nil, nilArg("lock user", "user")
	}
	u, err := scanUser(r.ext.QueryRowxContext(ctx, `
		UPDATE users SET locked_at = COALESCE(locked_at, $1)
		WHERE user_id = $2 AND deactivated_at IS NULL
		RETURNING `+userColumns, storage.Now(clock), key(user.ID)))
	if err == nil {
		return u, nil
	}
	return nil, fmt.Errorf("lock user %s: %w", user.ID, r.whyNot(ctx, user.ID, err, storage.ErrInvalidState))
}

// Deactivate marks the user deactivated and finishes its unfinished
// sessions, in one statement.
func (r users) Deactivate(ctx context.Context, clock storage.Clock, user *storage.User) (*storage.User, error) {
	if user == nil {
		return nil, nilArg("deactivate user", "user")
	}
	u, err := scanUser(r.ext.QueryRowxContext(ctx, `
		WITH u AS (
			UPDATE users SET deactivated_at = $1
			WHERE user_id = $2 AND deactivated_at IS NULL
			RETURNING `+userColumns+`
		), browser AS (
			UPDATE user_sessions SET finished_at = $1
			WHERE user_id = (SELECT user_id FROM u) AND finished_at IS NULL
		), compat AS (
			UPDATE compat_sessions SET finished_at = $1
			WHERE user_id = (SELECT user_id FROM u) AND finished_at IS NULL
		), oauth2 AS (
			UPDATE oauth2_sessions SET finished_at = $1
			WHERE user_id = (SELECT user_id FROM u) AND finished_at IS NULL
		)
		SELECT `+userColumns+` FROM u`, storage.Now(clock), key(user.ID)))
	if err == nil {
		return u, nil
	}
	return nil, fmt.Errorf("deactivate user %s: %w", user.ID, r.whyNot(ctx, user.ID, err, storage.ErrAlreadyFinished))
}

// whyNot explains a conditional update of a user that matched no row: the
// user does not exist (ErrNotFound), or is not in the state the update
// needs (state). Other errors are returned as they are.
func (r users) whyNot(ctx context.Context, id ulid.ULID, err error, state error) error {
	if !noRows(err) {
		return err
	}
	if _, lookupErr := r.Lookup(ctx, id); lookupErr != nil {
		return lookupErr
	}
	return state
}

// AddEmail adds an email address to the user.
func (r users) AddEmail(ctx context.Context, clock storage.Clock, user *storage.User, email string) (*storage.UserEmail, error) {
	if user == nil {
		return nil, nilArg("add email", "user")
	}
	now := storage.Now(clock)
	e := &storage.UserEmail{ID: ulidx.New(now), UserID: user.ID, Email: email, CreatedAt: now}
	_, err := r.ext.ExecContext(ctx,
		`INSERT INTO user_emails (user_email_id, user_id, email, created_at) VALUES ($1, $2, $3, $4)`,
		key(e.ID), key(e.UserID), e.Email, e.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("add email of user %s: %w", user.ID, translate(err))
	}
	return e, nil
}

// AddPassword adds a hashed password to the user.
func (r users) AddPassword(ctx context.Context, clock storage.Clock, user *storage.User, hashed string, version int) (*storage.UserPassword, error) {
	if user == nil {
		return nil, nilArg("add password", "user")
	}
	now := storage.Now(clock)
	p := &storage.UserPassword{ID: ulidx.New(now), UserID: user.ID, HashedPassword: hashed, Version: version, CreatedAt: now}
	_, err := r.ext.ExecContext(ctx, `
		INSERT INTO user_passwords (user_password_id, user_id, hashed_password, version, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		key(p.ID), key(p.UserID), p.HashedPassword, p.Version, p.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("add password of user %s: %w", user.ID, translate(err))
	}
	return p, nil
}
