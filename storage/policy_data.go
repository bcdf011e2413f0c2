package storage

import (
	"context"
	"encoding/json"
	"time"

	"github.com/oklog/ulid/v2"
)

// PolicyData is one version of the dynamic data of the authorization
// policy. The newest version (the largest ID) is the one in force.
type PolicyData struct {
	ID        ulid.ULID
	CreatedAt time.Time
	Data      json.RawMessage
}

// PolicyDataRepository stores the versions of the policy data.
type PolicyDataRepository interface {
	// Set stores data as the newest version. data must be valid JSON (else
	// ErrInvalidArgument); it is kept as jsonb, so its formatting may not
	// be kept.
	Set(ctx context.Context, clock Clock, data json.RawMessage) (*PolicyData, error)
	// Latest returns the version in force, or ErrNotFound when there is none.
	Latest(ctx context.Context) (*PolicyData, error)
	// Prune deletes the versions that are not among the newest keep (at
	// least 1, else ErrInvalidArgument), created (ULID age) before
	// `before`, ordered by ID (the cursor's Time stays zero). The newest
	// version is never deleted. See CleanupFunc.
	Prune(ctx context.Context, after Cursor, before time.Time, keep, limit int) (Batch, error)
}
