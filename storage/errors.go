package storage

import "errors"

// ErrNotFound is returned by Lookup and Find methods when no row matches, and
// by any method given a row, or a reference to one, that does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned by Add methods when a unique value (a username, a
// token, an upstream state, a link's provider and subject) is already taken.
var ErrConflict = errors.New("conflict")

// ErrAlreadyFinished is returned when a row is moved to a final state it is
// already in: finishing a finished session, consuming a consumed token or
// recovery session, revoking a revoked token, exchanging an exchanged grant,
// completing a completed registration, shutting down a worker twice.
var ErrAlreadyFinished = errors.New("already finished")

// ErrInvalidState is returned when a row is not in a state that allows the
// change: authenticating a finished browser session, completing a queue job
// that is not running, fulfilling a grant twice, locking a deactivated user.
var ErrInvalidState = errors.New("invalid state")

// ErrInvalidArgument is returned for input no row could satisfy: an empty
// username, token value (access, refresh, SSO login, recovery ticket, email
// code, device or user code), upstream state, link subject or queue name; a
// limit below 1; a back-channel logout with neither sub nor sid; an unknown
// back-channel logout mode; a nil required argument (a nil user, session,
// client, provider, token...). (An empty authorization code is allowed, as
// in MAS.)
var ErrInvalidArgument = errors.New("invalid argument")

// ErrRollback, returned by a Transact function, rolls the transaction back
// without it being a failure: Transact then returns nil. Dry runs use it.
var ErrRollback = errors.New("roll back")
