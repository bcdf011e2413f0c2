package storage

import (
	"context"
	"time"

	"github.com/oklog/ulid/v2"
)

// User is an account of the homeserver.
type User struct {
	ID            ulid.ULID
	Username      string
	CreatedAt     time.Time
	LockedAt      *time.Time
	DeactivatedAt *time.Time
}

// UserEmail is an email address of a user.
type UserEmail struct {
	ID        ulid.ULID
	UserID    ulid.ULID
	Email     string
	CreatedAt time.Time
}

// UserPassword is a hashed password of a user; the newest one is current.
type UserPassword struct {
	ID             ulid.ULID
	UserID         ulid.ULID
	HashedPassword string
	Version        int
	CreatedAt      time.Time
}

// UserRepository stores users, their emails and passwords.
type UserRepository interface {
	// Add creates a user. An empty username is ErrInvalidArgument; a taken
	// one ErrConflict.
	Add(ctx context.Context, clock Clock, username string) (*User, error)
	// Lookup returns the user, or ErrNotFound.
	Lookup(ctx context.Context, id ulid.ULID) (*User, error)
	// FindByUsername returns the user with that exact username, or ErrNotFound.
	FindByUsername(ctx context.Context, username string) (*User, error)
	// Lock marks the user locked; locking a locked user keeps the first time.
	// A deactivated user cannot be locked (ErrInvalidState).
	Lock(ctx context.Context, clock Clock, user *User) (*User, error)
	// Deactivate marks the user deactivated and, in the same transaction,
	// finishes every unfinished browser, compat and OAuth 2.0 session of the
	// user. Deactivating twice is ErrAlreadyFinished.
	Deactivate(ctx context.Context, clock Clock, user *User) (*User, error)
	// AddEmail adds an email address to the user.
	AddEmail(ctx context.Context, clock Clock, user *User, email string) (*UserEmail, error)
	// AddPassword adds a hashed password to the user.
	AddPassword(ctx context.Context, clock Clock, user *User, hashed string, version int) (*UserPassword, error)
}
