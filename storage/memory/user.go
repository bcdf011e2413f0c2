package memory

import (
	"context"
	"fmt"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// users implements storage.UserRepository.
type users struct{ repo }

// Add creates a user.
func (r users) Add(ctx context.Context, clock storage.Clock, username string) (*storage.User, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.User, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("add user: %w", err)
		}
		if username == "" {
			return nil, fmt.Errorf("add user: empty username: %w", storage.ErrInvalidArgument)
		}
		u := storage.User{ID: ulidx.New(now), Username: username, CreatedAt: now}
		if err := st.users.insert(u.ID, u); err != nil {
			return nil, fmt.Errorf("add user %q: %w", username, err)
		}
		return cloneUser(u), nil
	})
}

// Lookup returns the user.
func (r users) Lookup(ctx context.Context, id ulid.ULID) (*storage.User, error) {
	return query(r.repo, ctx, func(st *state) (*storage.User, error) {
		u, err := st.users.must(id)
		if err != nil {
			return nil, fmt.Errorf("lookup user: %w", err)
		}
		return cloneUser(u), nil
	})
}

// FindByUsername returns the user with that exact username.
func (r users) FindByUsername(ctx context.Context, username string) (*storage.User, error) {
	return query(r.repo, ctx, func(st *state) (*storage.User, error) {
		u, ok := st.users.find(uqUsername, username)
		if !ok {
			return nil, fmt.Errorf("find user %q: %w", username, storage.ErrNotFound)
		}
		return cloneUser(u), nil
	})
}

// Lock marks the user locked, keeping the first time.
func (r users) Lock(ctx context.Context, clock storage.Clock, user *storage.User) (*storage.User, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.User, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("lock user: %w", err)
		}
		u, err := mustUser(st, user)
		if err != nil {
			return nil, fmt.Errorf("lock user: %w", err)
		}
		if u.DeactivatedAt != nil {
			return nil, fmt.Errorf("lock user %s: deactivated: %w", u.ID, storage.ErrInvalidState)
		}
		if u.LockedAt == nil {
			u.LockedAt = timeRef(now)
			if err := st.users.update(u.ID, u); err != nil {
				return nil, fmt.Errorf("lock user: %w", err)
			}
		}
		return cloneUser(u), nil
	})
}

// Deactivate marks the user deactivated and finishes all its sessions.
func (r users) Deactivate(ctx context.Context, clock storage.Clock, user *storage.User) (*storage.User, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.User, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("deactivate user: %w", err)
		}
		u, err := mustUser(st, user)
		if err != nil {
			return nil, fmt.Errorf("deactivate user: %w", err)
		}
		if u.DeactivatedAt != nil {
			return nil, fmt.Errorf("deactivate user %s: %w", u.ID, storage.ErrAlreadyFinished)
		}
		u.DeactivatedAt = timeRef(now)
		if err := st.users.update(u.ID, u); err != nil {
			return nil, fmt.Errorf("deactivate user: %w", err)
		}
		if _, err := st.finishUserSessions(now, func(s storage.UserSession) bool { return s.UserID == u.ID }); err != nil {
			return nil, fmt.Errorf("deactivate user: %w", err)
		}
		if _, err := st.finishCompatSessions(now, func(s storage.CompatSession) bool { return s.UserID == u.ID }); err != nil {
			return nil, fmt.Errorf("deactivate user: %w", err)
		}
		if _, err := st.finishOAuth2Sessions(now, func(s storage.OAuth2Session) bool { return s.UserID == u.ID }); err != nil {
			return nil, fmt.Errorf("deactivate user: %w", err)
		}
		return cloneUser(u), nil
	})
}

// AddEmail adds an email address to the user.
func (r users) AddEmail(ctx context.Context, clock storage.Clock, user *storage.User, email string) (*storage.UserEmail, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UserEmail, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("add user email: %w", err)
		}
		u, err := mustUser(st, user)
		if err != nil {
			return nil, fmt.Errorf("add user email: %w", err)
		}
		e := storage.UserEmail{ID: ulidx.New(now), UserID: u.ID, Email: email, CreatedAt: now}
		if err := st.userEmails.insert(e.ID, e); err != nil {
			return nil, fmt.Errorf("add user email: %w", err)
		}
		return plain(e), nil
	})
}

// AddPassword adds a hashed password to the user.
func (r users) AddPassword(ctx context.Context, clock storage.Clock, user *storage.User, hashed string, version int) (*storage.UserPassword, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UserPassword, error) {
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("add user password: %w", err)
		}
		u, err := mustUser(st, user)
		if err != nil {
			return nil, fmt.Errorf("add user password: %w", err)
		}
		p := storage.UserPassword{ID: ulidx.New(now), UserID: u.ID, HashedPassword: hashed, Version: version, CreatedAt: now}
		if err := st.userPasswords.insert(p.ID, p); err != nil {
			return nil, fmt.Errorf("add user password: %w", err)
		}
		return plain(p), nil
	})
}

// mustUser returns the stored row of user.
func mustUser(st *state, user *storage.User) (storage.User, error) {
	if user == nil {
		return storage.User{}, fmt.Errorf("nil user: %w", storage.ErrInvalidArgument)
	}
	return st.users.must(user.ID)
}
