package postgres

import (
	"context"
	"fmt"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// AcceptTerms records the user's acceptance of url, once: a second
// acceptance returns the first.
func (r users) AcceptTerms(ctx context.Context, clock storage.Clock, user *storage.User, url string) (*storage.UserTerms, error) {
	if user == nil {
		return nil, nilArg("accept terms", "user")
	}
	if url == "" {
		return nil, fmt.Errorf("accept terms: empty URL: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	if _, err := r.ext.ExecContext(ctx, `
		INSERT INTO user_terms (user_terms_id, user_id, terms_url, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, terms_url) DO NOTHING`, key(ulidx.New(now)), key(user.ID), url, now); err != nil {
		return nil, fmt.Errorf("accept terms %q for user %s: %w", url, user.ID, translate(err))
	}
	t := &storage.UserTerms{}
	err := r.ext.QueryRowxContext(ctx, `
		SELECT user_terms_id, user_id, terms_url, created_at FROM user_terms WHERE user_id = $1 AND terms_url = $2`,
		key(user.ID), url).Scan(idCol{&t.ID}, idCol{&t.UserID}, &t.TermsURL, timeCol{&t.CreatedAt})
	if err != nil {
		return nil, fmt.Errorf("accept terms %q for user %s: %w", url, user.ID, translate(err))
	}
	return t, nil
}

// ListTerms returns the terms the user accepted, in the order accepted.
func (r users) ListTerms(ctx context.Context, userID ulid.ULID) ([]*storage.UserTerms, error) {
	rows, err := r.ext.QueryxContext(ctx, `
		SELECT user_terms_id, user_id, terms_url, created_at FROM user_terms
		WHERE user_id = $1 ORDER BY created_at, user_terms_id`, key(userID))
	if err != nil {
		return nil, fmt.Errorf("list terms of user %s: %w", userID, translate(err))
	}
	return scanAll(rows, func(row rowScanner) (*storage.UserTerms, error) {
		t := &storage.UserTerms{}
		return t, row.Scan(idCol{&t.ID}, idCol{&t.UserID}, &t.TermsURL, timeCol{&t.CreatedAt})
	})
}

// AddUnsupportedThirdPartyID keeps a third-party ID of the user.
func (r users) AddUnsupportedThirdPartyID(ctx context.Context, clock storage.Clock, user *storage.User, medium, address string) (*storage.UnsupportedThirdPartyID, error) {
	if user == nil {
		return nil, nilArg("add third-party ID", "user")
	}
	if medium == "" || address == "" {
		return nil, fmt.Errorf("add third-party ID: empty medium or address: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	if _, err := r.ext.ExecContext(ctx, `
		INSERT INTO user_unsupported_third_party_ids (user_id, medium, address, created_at) VALUES ($1, $2, $3, $4)`,
		key(user.ID), medium, address, now); err != nil {
		return nil, fmt.Errorf("add third-party ID %s:%s of user %s: %w", medium, address, user.ID, translate(err))
	}
	return &storage.UnsupportedThirdPartyID{UserID: user.ID, Medium: medium, Address: address, CreatedAt: now}, nil
}

// ListUnsupportedThirdPartyIDs returns the user's third-party IDs, by medium
// then address.
func (r users) ListUnsupportedThirdPartyIDs(ctx context.Context, userID ulid.ULID) ([]*storage.UnsupportedThirdPartyID, error) {
	rows, err := r.ext.QueryxContext(ctx, `
		SELECT user_id, medium, address, created_at FROM user_unsupported_third_party_ids
		WHERE user_id = $1 ORDER BY medium, address`, key(userID))
	if err != nil {
		return nil, fmt.Errorf("list third-party IDs of user %s: %w", userID, translate(err))
	}
	return scanAll(rows, func(row rowScanner) (*storage.UnsupportedThirdPartyID, error) {
		t := &storage.UnsupportedThirdPartyID{}
		return t, row.Scan(idCol{&t.UserID}, &t.Medium, &t.Address, timeCol{&t.CreatedAt})
	})
}

// DeleteUnsupportedThirdPartyID deletes one of the user's third-party IDs.
func (r users) DeleteUnsupportedThirdPartyID(ctx context.Context, userID ulid.ULID, medium, address string) error {
	res, err := r.ext.ExecContext(ctx, `
		DELETE FROM user_unsupported_third_party_ids WHERE user_id = $1 AND medium = $2 AND address = $3`,
		key(userID), medium, address)
	if err != nil {
		return fmt.Errorf("delete third-party ID %s:%s of user %s: %w", medium, address, userID, translate(err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("delete third-party ID %s:%s of user %s: %w", medium, address, userID, storage.ErrNotFound)
	}
	return nil
}
