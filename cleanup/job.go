package cleanup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/masstore/masstore/storage"
)

// Job is one retention job.
type Job struct {
	// Name is the job's stable name, MAS's where MAS has the job.
	Name string
	// Description says what the job deletes, and what goes with it.
	Description string
	// Retention is how long a row stays after the time that qualifies it.
	Retention time.Duration
	// Cadence is when MAS runs the job, as a cron expression: minute hour
	// day month weekday, preceded by a seconds field for the one job MAS
	// runs at a second other than 0 (expire-inactive-sessions).
	Cadence string
	// FromMAS is false for the jobs this library adds.
	FromMAS bool
	// Tables are the tables the job deletes from or updates.
	Tables []string
	// Method returns the repository method the job drives. A job has a
	// Method or Steps.
	Method func(storage.Repository) storage.CleanupFunc
	// Steps, for the jobs whose batches need the run's time or options,
	// returns the cleanups the job runs one after the other, each from its
	// start: the horizon is the same for all, and the run's cursor starts
	// again from zero with each step.
	Steps func(repo storage.Repository, now time.Time, opts Options) []storage.CleanupFunc
	// Optional jobs are off until a retention is given for them
	// (Options.Retention): RunJobs and RunAll leave them out, Run refuses
	// them.
	Optional bool
	// MinRetention and MaxRetention, when set, bound the retention a host
	// may give the job.
	MinRetention, MaxRetention time.Duration
	// Window, for the jobs that have one, returns the repository methods
	// that read Method's candidates ahead and delete them by ID; the engine
	// uses them when Options.WindowSize is set.
	Window func(storage.Repository) (storage.WindowFunc, storage.DeleteFunc)
	// Effect is what the job does to the rows it affects.
	Effect Effect
}

// Effect is what a job does to the rows it counts as affected.
type Effect string

// The effects of the jobs.
const (
	Deletes   Effect = "deleted"  // the rows are deleted
	ClearsIPs Effect = "cleared"  // the rows stay; their IP address is set to NULL
	Finishes  Effect = "finished" // the sessions stay, finished
)

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// Jobs returns MAS's 20 scheduled retention jobs: first the expiry of
// inactive sessions (optional, off until it has a time-to-live), then the 18
// cleanup jobs in the order that keeps back-channel logout working: compat
// and OAuth 2.0 sessions first, then browser sessions (only those without
// children left), then upstream logins (only those whose browser session is
// gone) and links, then the rest, then the policy data.
func Jobs() []Job {
	return []Job{
		expireInactiveSessions(),
		{
			Name:        "cleanup-finished-compat-sessions",
			Description: "compat sessions finished before the horizon, with their access tokens, refresh tokens and SSO logins",
			Retention:   30 * day, Cadence: "10 * * * *", FromMAS: true,
			Tables: []string{"compat_sessions", "compat_access_tokens", "compat_refresh_tokens", "compat_sso_logins"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.CompatSessions().CleanupFinished },
			Window: func(r storage.Repository) (storage.WindowFunc, storage.DeleteFunc) {
				return r.CompatSessions().FinishedWindow, r.CompatSessions().DeleteFinished
			},
		},
		{
			Name:        "cleanup-finished-oauth2-sessions",
			Description: "OAuth 2.0 sessions finished before the horizon, with their tokens and grants",
			Retention:   30 * day, Cadence: "15 * * * *", FromMAS: true,
			Tables: []string{"oauth2_sessions", "oauth2_access_tokens", "oauth2_refresh_tokens", "oauth2_authorization_grants", "oauth2_device_code_grant"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.OAuth2Sessions().CleanupFinished },
			Window: func(r storage.Repository) (storage.WindowFunc, storage.DeleteFunc) {
				return r.OAuth2Sessions().FinishedWindow, r.OAuth2Sessions().DeleteFinished
			},
		},
		{
			Name:        "cleanup-finished-user-sessions",
			Description: "browser sessions finished before the horizon that no compat or OAuth 2.0 session references, with their authentications; upstream logins, grants and email authentications naming them are unlinked",
			Retention:   30 * day, Cadence: "20 * * * *", FromMAS: true,
			Tables: []string{"user_sessions", "user_session_authentications", "compat_sso_logins", "upstream_oauth_authorization_sessions", "oauth2_authorization_grants", "oauth2_device_code_grant", "user_email_authentications", "compat_sessions", "oauth2_sessions"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.UserSessions().CleanupFinished },
		},
		{
			Name:        "cleanup-upstream-oauth-sessions",
			Description: "upstream logins older than the horizon whose browser session is unset (never completed, or already cleaned up)",
			Retention:   week, Cadence: "40 * * * *", FromMAS: true,
			Tables: []string{"upstream_oauth_authorization_sessions", "user_session_authentications", "user_registrations"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.UpstreamOAuth().CleanupOrphanedSessions },
		},
		{
			Name:        "cleanup-upstream-oauth-links",
			Description: "upstream links older than the horizon never attached to a user, with their upstream logins",
			Retention:   week, Cadence: "40 * * * *", FromMAS: true,
			Tables: []string{"upstream_oauth_links", "upstream_oauth_authorization_sessions", "user_session_authentications", "user_registrations"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.UpstreamOAuth().CleanupOrphanedLinks },
		},
		{
			Name:        "cleanup-revoked-oauth-access-tokens",
			Description: "OAuth 2.0 access tokens revoked before the horizon",
			Retention:   time.Hour, Cadence: "0 * * * *", FromMAS: true,
			Tables: []string{"oauth2_access_tokens", "oauth2_refresh_tokens"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.OAuth2Tokens().CleanupRevokedAccessTokens },
		},
		{
			Name:        "cleanup-expired-oauth-access-tokens",
			Description: "OAuth 2.0 access tokens that expired before the horizon",
			Retention:   30 * day, Cadence: "5 */4 * * *", FromMAS: true,
			Tables: []string{"oauth2_access_tokens", "oauth2_refresh_tokens"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.OAuth2Tokens().CleanupExpiredAccessTokens },
		},
		{
			Name:        "cleanup-revoked-oauth-refresh-tokens",
			Description: "OAuth 2.0 refresh tokens revoked before the horizon",
			Retention:   time.Hour, Cadence: "5 * * * *", FromMAS: true,
			Tables: []string{"oauth2_refresh_tokens"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.OAuth2Tokens().CleanupRevokedRefreshTokens },
		},
		{
			Name:        "cleanup-consumed-oauth-refresh-tokens",
			Description: "OAuth 2.0 refresh tokens consumed before the horizon whose successor is none or itself consumed",
			Retention:   time.Hour, Cadence: "5 * * * *", FromMAS: true,
			Tables: []string{"oauth2_refresh_tokens"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.OAuth2Tokens().CleanupConsumedRefreshTokens },
		},
		{
			Name:        "cleanup-user-registrations",
			Description: "registrations created before the horizon, with their email authentications",
			Retention:   30 * day, Cadence: "45 * * * *", FromMAS: true,
			Tables: []string{"user_registrations", "user_email_authentications", "user_email_authentication_codes"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.Registrations().CleanupRegistrations },
		},
		{
			Name:        "cleanup-oauth-authorization-grants",
			Description: "OAuth 2.0 authorization grants created before the horizon",
			Retention:   week, Cadence: "30 * * * *", FromMAS: true,
			Tables: []string{"oauth2_authorization_grants"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.OAuth2Grants().CleanupAuthorizationGrants },
		},
		{
			Name:        "cleanup-oauth-device-code-grants",
			Description: "OAuth 2.0 device-code grants created before the horizon",
			Retention:   week, Cadence: "35 * * * *", FromMAS: true,
			Tables: []string{"oauth2_device_code_grant"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.OAuth2Grants().CleanupDeviceCodeGrants },
		},
		{
			Name:        "cleanup-user-recovery-sessions",
			Description: "account-recovery sessions created before the horizon, with their tickets",
			Retention:   week, Cadence: "50 * * * *", FromMAS: true,
			Tables: []string{"user_recovery_sessions", "user_recovery_tickets"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.Recovery().CleanupSessions },
		},
		{
			Name:        "cleanup-user-email-authentications",
			Description: "email authentications created before the horizon, with their codes",
			Retention:   week, Cadence: "50 * * * *", FromMAS: true,
			Tables: []string{"user_email_authentications", "user_email_authentication_codes", "user_registrations"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.Registrations().CleanupEmailAuthentications },
		},
		{
			Name:        "cleanup-inactive-oauth2-session-ips",
			Description: "the IP address of OAuth 2.0 sessions last active before the horizon",
			Retention:   30 * day, Cadence: "25 * * * *", FromMAS: true,
			Tables: []string{"oauth2_sessions"},
			Method: func(r storage.Repository) storage.CleanupFunc { return r.OAuth2Sessions().ClearInactiveIPs },
			Effect: ClearsIPs,
		},
		{
			Name:        "cleanup-inactive-compat-session-ips",
			Description: "the IP address of compat sessions last active before the horizon",
			Retention:   30 * day, Cadence: "25 * * * *", FromMAS: true,
			Tables: []string{"compat_sessions"},
			Method: func(r storage.Repository) storage.CleanupFunc { return r.CompatSessions().ClearInactiveIPs },
			Effect: ClearsIPs,
		},
		{
			Name:        "cleanup-inactive-user-session-ips",
			Description: "the IP address of browser sessions last active before the horizon",
			Retention:   30 * day, Cadence: "25 * * * *", FromMAS: true,
			Tables: []string{"user_sessions"},
			Method: func(r storage.Repository) storage.CleanupFunc { return r.UserSessions().ClearInactiveIPs },
			Effect: ClearsIPs,
		},
		{
			Name:        "cleanup-queue-jobs",
			Description: "completed and failed queue jobs created before the horizon; retries and schedules naming them are unlinked",
			Retention:   30 * day, Cadence: "55 * * * *", FromMAS: true,
			Tables: []string{"queue_jobs", "queue_schedules"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.Queue().CleanupJobs },
		},
		{
			Name:        "prune-stale-policy-data",
			Description: "policy data versions older than the newest Options.KeepPolicyData (10); the newest is never deleted",
			Cadence:     "0 2 * * *", FromMAS: true,
			Tables: []string{"policy_data"},
			Effect: Deletes,
			Steps: func(r storage.Repository, _ time.Time, o Options) []storage.CleanupFunc {
				keep := o.keepPolicyData()
				return []storage.CleanupFunc{func(ctx context.Context, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
					return r.PolicyData().Prune(ctx, after, before, keep, limit)
				}}
			},
		},
	}
}

// ExtraJobs returns the jobs this library adds for what MAS never cleans.
func ExtraJobs() []Job {
	return []Job{
		{
			Name:        "cleanup-abandoned-compat-sso-logins",
			Description: "compat SSO logins created before the horizon that never got a compat session",
			Retention:   week, Cadence: "10 * * * *",
			Tables: []string{"compat_sso_logins"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.CompatSessions().CleanupAbandonedSSOLogins },
		},
		{
			Name:        "cleanup-lost-queue-jobs",
			Description: "lost queue jobs (their worker died) created before the horizon; retries and schedules naming them are unlinked",
			Retention:   30 * day, Cadence: "55 * * * *",
			Tables: []string{"queue_jobs", "queue_schedules"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.Queue().CleanupLostJobs },
		},
		{
			Name:        "cleanup-stale-queue-workers",
			Description: "queue workers shut down or unseen since before the horizon that no job still names",
			Retention:   week, Cadence: "55 * * * *",
			Tables: []string{"queue_workers"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.Queue().CleanupWorkers },
		},
		{
			Name:        "cleanup-revoked-personal-sessions",
			Description: "personal sessions revoked before the horizon, with their access tokens",
			Retention:   30 * day, Cadence: "15 * * * *",
			Tables: []string{"personal_sessions", "personal_access_tokens"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.PersonalSessions().CleanupRevoked },
		},
		{
			Name:        "cleanup-revoked-personal-access-tokens",
			Description: "personal access tokens revoked before the horizon",
			Retention:   30 * day, Cadence: "0 * * * *",
			Tables: []string{"personal_access_tokens"},
			Effect: Deletes,
			Method: func(r storage.Repository) storage.CleanupFunc { return r.PersonalSessions().CleanupRevokedAccessTokens },
		},
		{
			Name:        "cleanup-inactive-personal-session-ips",
			Description: "the IP address of personal sessions last active before the horizon",
			Retention:   30 * day, Cadence: "25 * * * *",
			Tables: []string{"personal_sessions"},
			Method: func(r storage.Repository) storage.CleanupFunc { return r.PersonalSessions().ClearInactiveIPs },
			Effect: ClearsIPs,
		},
	}
}

// AllJobs returns Jobs followed by ExtraJobs: what RunAll runs.
func AllJobs() []Job { return append(Jobs(), ExtraJobs()...) }

// On reports whether opts let the job run: an optional job is off until
// opts give it a retention.
func (j Job) On(opts Options) bool {
	_, ok := opts.Retention[j.Name]
	return !j.Optional || ok
}

// Lookup returns the job of that name; an unknown name is an error that lists
// the known ones.
func Lookup(name string) (Job, error) {
	for _, j := range AllJobs() {
		if j.Name == name {
			return j, nil
		}
	}
	return Job{}, fmt.Errorf("unknown cleanup job %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Select returns the named jobs in the order of AllJobs, whatever the order of
// names; no names selects every job.
func Select(names ...string) ([]Job, error) {
	if len(names) == 0 {
		return AllJobs(), nil
	}
	want := map[string]bool{}
	for _, n := range names {
		if _, err := Lookup(n); err != nil {
			return nil, err
		}
		want[n] = true
	}
	var out []Job
	for _, j := range AllJobs() {
		if want[j.Name] {
			out = append(out, j)
		}
	}
	return out, nil
}

// Names returns the names of AllJobs, in order.
func Names() []string {
	var names []string
	for _, j := range AllJobs() {
		names = append(names, j.Name)
	}
	return names
}
