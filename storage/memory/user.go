package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

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

// AcceptTerms records that the user accepted the terms at url, once.
func (r users) AcceptTerms(ctx context.Context, clock storage.Clock, user *storage.User, url string) (*storage.UserTerms, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UserTerms, error) {
		const op = "accept terms"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if url == "" {
			return nil, fmt.Errorf("%s: empty URL: %w", op, storage.ErrInvalidArgument)
		}
		u, err := mustUser(st, user)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if t, ok := st.userTerms.find(uqUserTermsURL, u.ID.String()+"\x00"+url); ok {
			return plain(t), nil
		}
		t := storage.UserTerms{ID: ulidx.New(now), UserID: u.ID, TermsURL: url, CreatedAt: now}
		if err := st.userTerms.insert(t.ID, t); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return plain(t), nil
	})
}

// ListTerms returns the terms the user accepted, in the order accepted.
func (r users) ListTerms(ctx context.Context, userID ulid.ULID) ([]*storage.UserTerms, error) {
	return query(r.repo, ctx, func(st *state) ([]*storage.UserTerms, error) {
		var out []*storage.UserTerms
		for _, t := range st.userTerms.rows {
			if t.UserID == userID {
				out = append(out, plain(t))
			}
		}
		slices.SortFunc(out, func(a, b *storage.UserTerms) int { return byCreation(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
		return out, nil
	})
}

// AddUnsupportedThirdPartyID keeps a third-party ID of the user.
func (r users) AddUnsupportedThirdPartyID(ctx context.Context, clock storage.Clock, user *storage.User, medium, address string) (*storage.UnsupportedThirdPartyID, error) {
	return mutate(r.repo, ctx, func(st *state) (*storage.UnsupportedThirdPartyID, error) {
		const op = "add unsupported third-party ID"
		now, err := now(clock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if medium == "" || address == "" {
			return nil, fmt.Errorf("%s: empty medium or address: %w", op, storage.ErrInvalidArgument)
		}
		u, err := mustUser(st, user)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		id := storage.UnsupportedThirdPartyID{UserID: u.ID, Medium: medium, Address: address, CreatedAt: now}
		if err := st.thirdPartyIDs.insert(thirdPartyKey{u.ID, medium, address}, id); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return plain(id), nil
	})
}

// ListUnsupportedThirdPartyIDs returns the user's third-party IDs, by medium
// then address.
func (r users) ListUnsupportedThirdPartyIDs(ctx context.Context, userID ulid.ULID) ([]*storage.UnsupportedThirdPartyID, error) {
	return query(r.repo, ctx, func(st *state) ([]*storage.UnsupportedThirdPartyID, error) {
		var out []*storage.UnsupportedThirdPartyID
		for k, v := range st.thirdPartyIDs.rows {
			if k.userID == userID {
				out = append(out, plain(v))
			}
		}
		slices.SortFunc(out, func(a, b *storage.UnsupportedThirdPartyID) int {
			return cmp.Or(cmp.Compare(a.Medium, b.Medium), cmp.Compare(a.Address, b.Address))
		})
		return out, nil
	})
}

// DeleteUnsupportedThirdPartyID deletes one of the user's third-party IDs.
func (r users) DeleteUnsupportedThirdPartyID(ctx context.Context, userID ulid.ULID, medium, address string) error {
	return r.write(ctx, func(st *state) error {
		k := thirdPartyKey{userID, medium, address}
		if _, ok := st.thirdPartyIDs.get(k); !ok {
			return fmt.Errorf("delete unsupported third-party ID %s of user %s: %w", medium, userID, storage.ErrNotFound)
		}
		st.thirdPartyIDs.remove(k)
		return nil
	})
}

// mustUser returns the stored row of user.
func mustUser(st *state, user *storage.User) (storage.User, error) {
	if user == nil {
		return storage.User{}, fmt.Errorf("nil user: %w", storage.ErrInvalidArgument)
	}
	return st.users.must(user.ID)
}
