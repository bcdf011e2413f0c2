package cleanup

import (
	"context"
	"encoding/json"
	"fmt"
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

// syncDevicesPage is MAS's page: MAS's job finishes 100 sessions a run
// (crates/tasks/src/sessions.rs, pagination(100)) and spaces their users'
// sync-devices jobs 10 seconds apart, so one page's syncs spread over at most
// 16.5 minutes. A batch here is not a page (it examines up to the run's batch
// size); what stays of the page is that spread: ScheduleSyncDevices spaces a
// batch's users in groups of this many.
const syncDevicesPage = 100

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
	// it finished, in the order of their first session, each once per batch
	// (a batch examines up to the run's batch size, Options.BatchSize):
	// their devices must go from the homeserver. nil is ScheduleSyncDevices
	// (what MAS does); NoSyncDevices does nothing. An error rolls the batch
	// back and fails the job.
	SyncDevices SyncDevicesFunc
}

// SyncDevicesFunc tells the homeserver that the devices of users changed;
// tx is the repository of the batch's transaction and now the run's time.
type SyncDevicesFunc func(ctx context.Context, tx storage.Repository, now time.Time, users []ulid.ULID) error

// NoSyncDevices is the SyncDevicesFunc of a host that is not MAS and has no
// homeserver to tell: it does nothing.
func NoSyncDevices(context.Context, storage.Repository, time.Time, []ulid.ULID) error { return nil }

// ScheduleSyncDevices is what MAS does for the users of expired sessions:
// for each user, a scheduled job on the "sync-devices" queue with the
// payload {"user_id": "<ULID>"}, due one minute after now plus ten seconds
// for each user before it in its group of 100 (the users, in order, go by
// groups of 100, as many as a MAS page of 100 sessions holds at most: so
// no job is due later than now + 1 minute + 990 seconds), all added by one
// ScheduleJobs call.
func ScheduleSyncDevices(ctx context.Context, tx storage.Repository, now time.Time, users []ulid.ULID) error {
	jobs := make([]storage.ScheduledJob, len(users))
	for i, user := range users {
		payload, err := json.Marshal(struct {
			UserID string `json:"user_id"`
		}{user.String()})
		if err != nil {
			return fmt.Errorf("sync-devices payload of user %s: %w", user, err)
		}
		step := time.Duration(i%syncDevicesPage) * 10 * time.Second
		jobs[i] = storage.ScheduledJob{Payload: payload, At: now.Add(time.Minute + step)}
	}
	if _, err := tx.Queue().ScheduleJobs(ctx, storage.FixedClock(now), "sync-devices", jobs); err != nil {
		return fmt.Errorf("schedule the sync-devices jobs of %d users: %w", len(users), err)
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
		Tables: []string{"compat_sessions", "oauth2_sessions", "oauth2_clients", "user_sessions", "queue_jobs"},
		Steps:  expireSteps,
		Effect: Finishes,
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
