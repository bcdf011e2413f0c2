package cleanup

import (
	"context"
	"encoding/json"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/storage"
)

// Bounds of the time-to-live of expire-inactive-sessions: MAS's
// experimental.inactive_session_expiration.ttl, 600 to 7776000 seconds.
const (
	MinInactiveSessionTTL = 10 * time.Minute
	MaxInactiveSessionTTL = 90 * day
)

// expirePageSize is how many sessions MAS finishes per page, and so per
// batch: the sync-devices jobs of a page are spaced 10 seconds apart.
const expirePageSize = 100

// InactiveSessions tunes expire-inactive-sessions, the job that finishes
// sessions inactive for longer than its time-to-live (given as its
// retention, Options.Retention["expire-inactive-sessions"]; without one the
// job is off). The zero value does what MAS does.
type InactiveSessions struct {
	// SkipCompat, SkipOAuth2 and SkipBrowser leave that kind of session
	// alone (MAS's expire_compat_sessions, expire_oauth_sessions and
	// expire_user_sessions set to false).
	SkipCompat, SkipOAuth2, SkipBrowser bool
	// SyncDevices is called, in the transaction of each batch that finished
	// compat or OAuth 2.0 sessions, with the distinct users whose sessions
	// it finished, in the order of their first session: their devices must
	// go from the homeserver. nil is ScheduleSyncDevices (what MAS does);
	// NoSyncDevices does nothing. An error rolls the batch back and fails
	// the job.
	SyncDevices SyncDevicesFunc
}

// SyncDevicesFunc tells the homeserver that the devices of users changed;
// tx is the repository of the batch's transaction and now the run's time.
type SyncDevicesFunc func(ctx context.Context, tx storage.Repository, now time.Time, users []ulid.ULID) error

// NoSyncDevices is the SyncDevicesFunc of a host that is not MAS and has no
// homeserver to tell: it does nothing.
func NoSyncDevices(context.Context, storage.Repository, time.Time, []ulid.ULID) error { return nil }

// ScheduleSyncDevices is what MAS does for the users of one page of expired
// sessions: for each, a scheduled job on the "sync-devices" queue with the
// payload {"user_id": "<ULID>"}, due one minute after now plus ten seconds
// for each user before it in the page.
func ScheduleSyncDevices(ctx context.Context, tx storage.Repository, now time.Time, users []ulid.ULID) error {
	clock := storage.FixedClock(now)
	for i, user := range users {
		payload, err := json.Marshal(struct {
			UserID string `json:"user_id"`
		}{user.String()})
		if err != nil {
			return err
		}
		at := now.Add(time.Minute + time.Duration(i)*10*time.Second)
		if _, err := tx.Queue().ScheduleJob(ctx, clock, "sync-devices", payload, at, ""); err != nil {
			return err
		}
	}
	return nil
}

func expireInactiveSessions() Job {
	return Job{
		Name:         "expire-inactive-sessions",
		Description:  "finishes compat, OAuth 2.0 and browser sessions last active before the horizon (now - TTL), as a logout would; schedules a sync-devices queue job per user of finished compat and OAuth 2.0 sessions",
		Cadence:      "30 */15 * * * *",
		FromMAS:      true,
		Optional:     true,
		MinRetention: MinInactiveSessionTTL, MaxRetention: MaxInactiveSessionTTL,
		MaxBatchSize: expirePageSize,
		Tables:       []string{"compat_sessions", "oauth2_sessions", "oauth2_clients", "user_sessions", "queue_jobs"},
		Steps:        expireSteps,
		Effect:       Finishes,
	}
}

// expireSteps finishes compat sessions, then OAuth 2.0 sessions, then
// browser sessions, as MAS's job does.
func expireSteps(repo storage.Repository, now time.Time, opts Options) []storage.CleanupFunc {
	o := opts.InactiveSessions
	sync := o.SyncDevices
	if sync == nil {
		sync = ScheduleSyncDevices
	}
	var steps []storage.CleanupFunc
	if !o.SkipCompat {
		steps = append(steps, expireStep(repo, now, sync, func(r storage.Repository) storage.ExpireFunc { return r.CompatSessions().ExpireInactive }))
	}
	if !o.SkipOAuth2 {
		steps = append(steps, expireStep(repo, now, sync, func(r storage.Repository) storage.ExpireFunc { return r.OAuth2Sessions().ExpireInactive }))
	}
	if !o.SkipBrowser {
		steps = append(steps, expireStep(repo, now, nil, func(r storage.Repository) storage.ExpireFunc { return r.UserSessions().ExpireInactive }))
	}
	return steps
}

// expireStep is one kind's batch: finish the sessions, then, in the same
// transaction, tell sync (when not nil) about their users.
func expireStep(repo storage.Repository, now time.Time, sync SyncDevicesFunc, expire func(storage.Repository) storage.ExpireFunc) storage.CleanupFunc {
	clock := storage.FixedClock(now)
	return func(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
		var b storage.Batch
		batch := func(ctx context.Context, tx storage.Repository) error {
			var users []ulid.ULID
			var err error
			b, users, err = expire(tx)(ctx, clock, after, before, limit)
			if err != nil || sync == nil || len(users) == 0 {
				return err
			}
			return sync(ctx, tx, now, users)
		}
		var err error
		if store, ok := repo.(storage.Store); ok {
			err = store.Transact(ctx, batch)
		} else {
			err = batch(ctx, repo) // already a transaction: a dry run's
		}
		if err != nil {
			return storage.Batch{}, err
		}
		return b, nil
	}
}
