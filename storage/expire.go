package storage

import (
	"context"
	"time"

	"github.com/oklog/ulid/v2"
)

// ExpireFunc finishes, in one batch, sessions that are still active but
// were last active strictly before `before` (compared at microsecond
// precision), as a logout would: finished_at is set to clock's time.
// Sessions never active (last_active_at NULL) are not candidates. It
// examines at most limit candidates strictly after the cursor `after`, in ID
// order (the cursor's Time stays zero), atomically, skipping rows another
// call holds locked. It returns the batch and the distinct users whose
// sessions it finished, in the order of their first session. limit must be
// at least 1 (else ErrInvalidArgument).
type ExpireFunc func(ctx context.Context, clock Clock, after Cursor, before time.Time, limit int) (Batch, []ulid.ULID, error)
