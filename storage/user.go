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

// UserTerms records that a user accepted a terms-of-service URL.
type UserTerms struct {
	ID        ulid.ULID
	UserID    ulid.ULID
	TermsURL  string
	CreatedAt time.Time
}

// UnsupportedThirdPartyID is a third-party ID of a user other than an email
// (a phone number, say), kept from Synapse though MAS does not use it.
type UnsupportedThirdPartyID struct {
	UserID    ulid.ULID
	Medium    string
	Address   string
	CreatedAt time.Time
}

// UserRepository stores users, their emails, passwords, accepted terms and
// unsupported third-party IDs.
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

	// AcceptTerms records that the user accepted the terms at url. A URL is
	// accepted once: accepting it again returns the first acceptance,
	// unchanged. An empty url is ErrInvalidArgument.
	AcceptTerms(ctx context.Context, clock Clock, user *User, url string) (*UserTerms, error)
	// ListTerms returns the terms the user accepted, in the order accepted.
	ListTerms(ctx context.Context, userID ulid.ULID) ([]*UserTerms, error)

	// AddUnsupportedThirdPartyID keeps a third-party ID of the user. An
	// empty medium or address is ErrInvalidArgument; one the user already
	// has, ErrConflict.
	AddUnsupportedThirdPartyID(ctx context.Context, clock Clock, user *User, medium, address string) (*UnsupportedThirdPartyID, error)
	// ListUnsupportedThirdPartyIDs returns the user's third-party IDs, by
	// medium then address.
	ListUnsupportedThirdPartyIDs(ctx context.Context, userID ulid.ULID) ([]*UnsupportedThirdPartyID, error)
	// DeleteUnsupportedThirdPartyID deletes one of the user's third-party
	// IDs; one the user does not have is ErrNotFound.
	DeleteUnsupportedThirdPartyID(ctx context.Context, userID ulid.ULID, medium, address string) error
}
